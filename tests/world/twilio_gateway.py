"""A Twilio-compatible test gateway: the part of the REST API we use, with Twilio's error format and codes.

Messages create / fetch / list under /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth.
Every accepted message is recorded; after creation a message reads as `delivered` (or `undelivered` for numbers
in `undeliverable`).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import phonenumbers

from tests.world.server import BackgroundServer, QuietHandler

API = "/2010-04-01/Accounts/"
_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json$")


@dataclass
class GatewayMessage:
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status: str
    created: datetime
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    error_code: int | None = None

    def resource(self) -> dict[str, Any]:
        date = format_datetime(self.created, usegmt=True)
        return {
            "sid": self.sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "to": self.to,
            "from": self.from_,
            "body": self.body,
            "status": self.status,
            "direction": "outbound-api",
            "date_created": date,
            "date_updated": date,
            "date_sent": date if self.status != "queued" else None,
            "error_code": self.error_code,
            "error_message": None,
            "messaging_service_sid": self.messaging_service_sid,
            "num_segments": "1",
            "num_media": "0",
            "price": None,
            "price_unit": "EUR",
            "uri": f"{API}{self.account_sid}/Messages/{self.sid}.json",
            "subresource_uris": {},
        }


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class GatewayHandler(QuietHandler):
    world: TwilioGateway

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        self.send_body(status, json.dumps(payload).encode(), "application/json")

    def _route(self) -> tuple[str, str | None] | None:
        match = _PATH.match(urlparse(self.path).path)
        if not match:
            self._reply(404, twilio_error(404, 20404, "The requested resource was not found"))
            return None
        account, sid = match["account"], match["sid"]
        if not self._authorised(account):
            self._reply(401, twilio_error(401, 20003, "Authentication Error - invalid username"))
            return None
        return account, sid

    def _authorised(self, account: str) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        gateway = self.world
        return user == account == gateway.account_sid and secrets.compare_digest(password, gateway.auth_token)

    def do_POST(self) -> None:
        route = self._route()
        if route is None:
            return
        account, sid = route
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()}
        if sid is not None:
            self._reply(405, twilio_error(405, 20004, "Method not allowed"))
            return
        status, payload = self.world.create(account, form)
        self._reply(status, payload)

    def do_GET(self) -> None:
        route = self._route()
        if route is None:
            return
        _, sid = route
        gateway = self.world
        if sid is not None:
            message = gateway.get(sid)
            if message is None:
                self._reply(404, twilio_error(404, 20404, f"The requested resource {self.path} was not found"))
            else:
                self._reply(200, message.resource())
            return
        self._reply(200, gateway.list_page(self.path))


class TwilioGateway(BackgroundServer):
    handler_class = GatewayHandler

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token", port: int = 0) -> None:
        super().__init__(port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[GatewayMessage] = []
        self.opted_out: set[str] = set()
        self.undeliverable: set[str] = set()
        self._lock = threading.Lock()

    def twilio_settings(self) -> dict[str, str]:
        """The `twilio:` settings that point outreach at this gateway."""
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": "+3197010000001",
            "messaging_service_sid": "",
            "api_base_url": self.url,
        }

    def get(self, sid: str) -> GatewayMessage | None:
        with self._lock:
            return next((m for m in self.messages if m.sid == sid), None)

    def create(self, account: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From", ""), form.get("MessagingServiceSid") or None
        if not sender and not service:
            return 400, twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if not body:
            return 400, twilio_error(400, 21602, "Message body is required.")
        if not _valid_e164(to):
            return 400, twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if to in self.opted_out:
            return 400, twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        status = "undelivered" if to in self.undeliverable else "delivered"
        message = GatewayMessage(
            sid="SM" + secrets.token_hex(16),
            account_sid=account,
            to=to,
            from_=sender or "",
            body=body,
            status=status,
            created=datetime.now(UTC).replace(microsecond=0),
            messaging_service_sid=service,
            status_callback=form.get("StatusCallback"),
            error_code=30003 if status == "undelivered" else None,
        )
        with self._lock:
            self.messages.append(message)
        created = message.resource() | {"status": "queued", "error_code": None, "date_sent": None}
        return 201, created

    def list_page(self, raw_path: str) -> dict[str, Any]:
        url = urlparse(raw_path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        page_size = min(int(query.get("PageSize", "50")), 1000)
        page = int(query.get("Page", "0"))
        with self._lock:
            chosen = [m for m in reversed(self.messages) if _matches(m, query)]
        window = chosen[page * page_size : (page + 1) * page_size]
        base = f"{API}{self.account_sid}/Messages.json"
        more = len(chosen) > (page + 1) * page_size
        next_query = {**query, "Page": str(page + 1), "PageSize": str(page_size)}
        return {
            "messages": [m.resource() for m in window],
            "first_page_uri": f"{base}?{urlencode({**query, 'Page': '0', 'PageSize': str(page_size)})}",
            "next_page_uri": f"{base}?{urlencode(next_query)}" if more else None,
            "previous_page_uri": None,
            "page": page,
            "page_size": page_size,
            "start": page * page_size,
            "end": page * page_size + len(window),
            "uri": raw_path,
        }

    def sent_to(self) -> dict[str, list[GatewayMessage]]:
        with self._lock:
            result: dict[str, list[GatewayMessage]] = {}
            for message in self.messages:
                result.setdefault(message.to, []).append(message)
            return result


def _valid_e164(number: str) -> bool:
    if not re.fullmatch(r"\+[1-9]\d{6,14}", number):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


def _matches(message: GatewayMessage, query: dict[str, str]) -> bool:
    if "To" in query and message.to != query["To"]:
        return False
    if "From" in query and message.from_ != query["From"]:
        return False
    since = query.get("DateSent>")
    if since:
        return message.created.date().isoformat() >= since[:10]
    return True
