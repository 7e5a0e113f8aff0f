"""Every Twilio webhook is checked with the SDK's RequestValidator against the public URL from configuration, so
the check is right behind a reverse proxy (the URL Twilio signed is not the one this process sees)."""

from __future__ import annotations

from starlette.requests import Request
from twilio.request_validator import RequestValidator


def public_url_of(request: Request, public_base: str) -> str:
    url = public_base.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


def is_signed_by_twilio(validator: RequestValidator, request: Request, public_base: str, form: dict[str, str]) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    return bool(validator.validate(public_url_of(request, public_base), form, signature))
