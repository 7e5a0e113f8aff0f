"""One typed settings object, built once at start-up from config/outreach.yaml and OUTREACH_* variables.

Priority, highest first: explicit overrides (the demo, tests) > environment > the YAML file > defaults.
Secrets may also come from files (`hmac_key_file`, `fernet_key_file`, `twilio.auth_token_file`), which must not be
readable by group or others.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from outreach.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("config/outreach.yaml")


def read_secret_file(path: Path, setting: str) -> str:
    """Read a key file; refuse one that others can read, because the key protects every stored number."""
    try:
        mode = path.stat().st_mode
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{setting}: {path} is readable by others; run: chmod 600 {path}")
    if not value:
        raise ConfigError(f"{setting}: {path} is empty")
    return value


class OrganisationSettings(BaseModel):
    name: str = Field("Demo Outreach", description="Organisation name, shown in every message.")
    fieldworker: str = Field("Sanne", description="First name of the fieldworker who signs messages.")
    contact: str = Field("", description="Optional web address or phone number for questions, shown in messages.")
    stop_keyword: str = Field("STOP", description="The word a recipient replies with to stop all messages.")


class TwilioSettings(BaseModel):
    account_sid: str = Field("", description="Twilio Account SID (AC...).")
    auth_token: SecretStr | None = Field(None, description="Twilio auth token.")
    auth_token_file: Path | None = Field(None, description="File holding the Twilio auth token (mode 0600).")
    from_number: str = Field("", description="Two-way sender number in E.164 (replies and STOP reach us).")
    messaging_service_sid: str = Field("", description="Messaging Service SID (MG...), instead of from_number.")
    api_base_url: str = Field(
        "https://api.twilio.com",
        description="Twilio REST API base URL; the test gateway in tests and the demo.",
    )
    timeout_seconds: float = Field(15.0, gt=0, description="HTTP timeout for one API call.")

    @model_validator(mode="after")
    def _token_from_file(self) -> TwilioSettings:
        if self.auth_token is None and self.auth_token_file is not None:
            self.auth_token = SecretStr(read_secret_file(self.auth_token_file, "twilio.auth_token_file"))
        return self


class CrawlSettings(BaseModel):
    timeout_seconds: int = Field(1800, gt=0, description="A crawl child running longer than this is stopped.")
    log_level: str = Field("INFO", description="Scrapy log level in the crawl child's log file.")
    contact_url: str = Field(
        "",
        description="Where a site owner can reach us, in the crawler's User-Agent (default: organisation.contact).",
    )
    chromium_path: Path = Field(
        Path("/usr/bin/chromium"), description="Chromium for sites that need JavaScript (Debian's package)."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OUTREACH_",
        env_nested_delimiter="__",
        extra="forbid",
        yaml_file=DEFAULT_CONFIG_FILE,
    )

    database_url: str = Field("sqlite:///var/outreach.db", description="SQLAlchemy URL of the store.")
    hmac_key: SecretStr | None = Field(None, description="Secret for the keyed hash that identifies persons.")
    hmac_key_file: Path | None = Field(None, description="File holding hmac_key (mode 0600).")
    fernet_key: SecretStr | None = Field(None, description="Fernet key that encrypts stored phone numbers.")
    fernet_key_file: Path | None = Field(None, description="File holding fernet_key (mode 0600).")
    sites_dir: Path = Field(Path("config/sites"), description="Folder with one YAML file per ad site.")
    templates_dir: Path = Field(Path("templates"), description="Folder with the message templates.")
    log_dir: Path = Field(Path("var/log"), description="Folder for crawl logs.")
    languages: list[str] = Field(
        ["nl", "en", "ro", "pl", "es"],
        description="Languages with a message template; others use the fallback.",
    )
    fallback_language: str = Field("en", description="Template language when the advert's is not supported.")
    default_region: str = Field("NL", description="Region for numbers written without a country code.")
    mobile_countries: list[str] = Field(
        ["NL", "BE", "DE", "PL", "RO", "BG", "HU", "ES", "PT", "FR", "IT", "AL"],
        description="Countries whose mobile numbers may be messaged.",
    )
    recontact_days: int = Field(180, ge=1, description="Nobody is contacted twice within this many days.")
    dry_run: bool = Field(False, description="Do everything but call the provider; marked in the log.")
    actor: str = Field("", description="Who runs commands, for the audit log (default: the OS user).")
    organisation: OrganisationSettings = OrganisationSettings()
    twilio: TwilioSettings = TwilioSettings()
    crawl: CrawlSettings = CrawlSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @field_validator("languages", "mobile_countries")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one")
        return value

    @model_validator(mode="after")
    def _keys_from_files(self) -> Settings:
        if self.hmac_key is None and self.hmac_key_file is not None:
            self.hmac_key = SecretStr(read_secret_file(self.hmac_key_file, "hmac_key_file"))
        if self.fernet_key is None and self.fernet_key_file is not None:
            self.fernet_key = SecretStr(read_secret_file(self.fernet_key_file, "fernet_key_file"))
        if self.fallback_language not in self.languages:
            raise ValueError(f"fallback_language {self.fallback_language!r} is not one of languages")
        return self

    def for_child(self) -> str:
        """Serialise for a child process (sent on its stdin, so secrets stay out of argv and environ)."""
        data = self.model_dump(mode="json", exclude={"hmac_key_file", "fernet_key_file"})
        data["hmac_key"] = self.hmac_key.get_secret_value() if self.hmac_key else None
        data["fernet_key"] = self.fernet_key.get_secret_value() if self.fernet_key else None
        token = self.twilio.auth_token
        data["twilio"]["auth_token"] = token.get_secret_value() if token else None
        data["twilio"].pop("auth_token_file", None)
        return yaml.safe_dump(data)


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: what and where."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} (line {mark.line + 1})" if mark is not None else problem


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    return f"setting {where}: {first['msg']}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; any problem becomes one ConfigError naming the setting."""
    path = config_file or Path(os.environ.get("OUTREACH_CONFIG", DEFAULT_CONFIG_FILE))
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} does not exist")
    try:
        if path.is_file():
            yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: not valid YAML: {describe_yaml_error(exc)}") from exc
    bound = type("Settings", (Settings,), {"model_config": {**Settings.model_config, "yaml_file": path}})
    try:
        return bound(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


def load_child_settings(text: str) -> Settings:
    """The inverse of Settings.for_child: no file, no environment, exactly what the parent had."""
    data = yaml.safe_load(text)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
