"""Phone numbers at rest: a keyed hash identifies a person, Fernet encrypts the number itself.

A plain hash of a phone number can be reversed by trying every number, so the identity key is an HMAC with a
secret. The number is kept (encrypted) only because we need it to send. An advert's address is kept the same way
(encrypted, found by a keyed hash): the site's page behind it shows the number.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from outreach.errors import ConfigError
from outreach.settings import Settings


def _fernet(key: str, setting: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{setting}: not a valid Fernet key (32 url-safe base64-encoded bytes; make one with `outreach keys new`)"
        ) from exc


class PhoneVault:
    """Encrypts with the current Fernet key; decrypts with it or any previous key (during a key rotation)."""

    def __init__(self, hmac_key: str, fernet_key: str, previous_keys: list[str] | None = None) -> None:
        if len(hmac_key) < 32:
            raise ConfigError("hmac_key: must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        self._hmac_key = hmac_key.encode()
        current = _fernet(fernet_key, "fernet_key")
        older = [_fernet(key, "fernet_previous_keys") for key in previous_keys or []]
        self._fernet = MultiFernet([current, *older])

    @classmethod
    def from_settings(cls, settings: Settings) -> PhoneVault:
        if settings.hmac_key is None:
            raise ConfigError("hmac_key: missing; set OUTREACH_HMAC_KEY or OUTREACH_HMAC_KEY_FILE")
        if settings.fernet_key is None:
            raise ConfigError("fernet_key: missing; set OUTREACH_FERNET_KEY or OUTREACH_FERNET_KEY_FILE")
        return cls(
            settings.hmac_key.get_secret_value(),
            settings.fernet_key.get_secret_value(),
            [key.get_secret_value() for key in settings.fernet_previous_keys],
        )

    @classmethod
    def if_configured(cls, settings: Settings) -> PhoneVault | None:
        """The vault when both keys are set, else None: `db upgrade` needs it only to encrypt what is stored."""
        if settings.hmac_key is None or settings.fernet_key is None:
            return None
        return cls.from_settings(settings)

    def key(self, e164: str) -> str:
        """The person's identity: HMAC-SHA256 of the E.164 number, hex."""
        return hmac.new(self._hmac_key, e164.encode(), hashlib.sha256).hexdigest()

    def url_key(self, url: str) -> str:
        """An advert's address as the crawl looks it up: HMAC-SHA256, hex, in a namespace of its own (a person's
        key and an address's can never be equal)."""
        return hmac.new(self._hmac_key, b"advert-url\0" + url.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, value: str) -> str:
        """A number, or any other personal text we must keep (the body of a reply, an advert's address)."""
        return self._fernet.encrypt(value.encode()).decode()

    def rotate(self, token: str) -> str:
        """The same value, encrypted under the current key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError("fernet_key: a stored value matches neither the current nor a previous key") from exc

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError("fernet_key: cannot decrypt stored numbers with this key (wrong key?)") from exc


def new_keys() -> tuple[str, str]:
    """A fresh (hmac_key, fernet_key) pair."""
    import secrets

    return secrets.token_hex(32), Fernet.generate_key().decode()
