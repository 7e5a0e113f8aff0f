"""A Twilio-compatible test gateway: the part of the REST API we use, with Twilio's error format and codes.

- Messages create / fetch / list under /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth.
- Signed status callbacks (X-Twilio-Signature, computed with the SDK's RequestValidator) to a message's
  StatusCallback, in order or out of order, optionally twice.
- Inbound messages from a number to our webhook (`inbound()`), with Twilio's own keyword handling and answers,
  without or with Advanced Opt-Out (`advanced_opt_out`: then OptOutType in the webhook): after STOP
  (or UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL) a create to that number fails with 21610 until START.
- WhatsApp: `whatsapp:` addresses; free text only inside the 24-hour window after the person wrote (63016),
  numbers not in `whatsapp_users` have no WhatsApp (63024).
- Fault injection (seeded): 5xx before accepting, 5xx after accepting, 429, a timeout after accepting, and a
  connection dropped after accepting.
"""

from __future__ import annotations

import base64
import json
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import phonenumbers
from twilio.request_validator import RequestValidator

from testworld.server import BackgroundServer, QuietHandler

API = "/2010-04-01/Accounts/"
_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json$")
# Twilio's default keywords, handled on every number (help.twilio.com: "Twilio support for opt-out keywords").
TWILIO_STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
TWILIO_START_WORDS = {"START", "YES", "UNSTOP"}
TWILIO_HELP_WORDS = {"HELP", "INFO"}
# The gateway's stand-ins for Twilio's own answers (the wording is Twilio's business, not ours to test).
TWILIO_REPLIES = {
    "STOP": "[twilio] You are unsubscribed from this number. Reply START to resubscribe.",
    "START": "[twilio] You are subscribed again. Reply STOP to unsubscribe.",
    "HELP": "[twilio] Reply STOP to unsubscribe.",
}
FAULT_KINDS = ("500_before", "500_after", "429", "timeout_after", "drop_after")


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
    content_sid: str | None = None
    validity_period: int | None = None

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


@dataclass
class Faults:
    """Each create fails with probability `rate`, with one of `kinds`, drawn from a seeded generator."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    hang_seconds: float = 3.0
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        with self._lock:
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind


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
        gateway = self.world
        fault = gateway.faults.draw()
        if fault == "500_before":
            self._reply(500, twilio_error(500, 20500, "Internal Server Error"))
            return
        if fault == "429":
            self._reply(429, twilio_error(429, 20429, "Too Many Requests"))
            return
        status, payload = gateway.create(account, form)
        if status == 201:
            gateway.after_create(payload["sid"])
        if fault == "500_after" and status == 201:
            self._reply(503, twilio_error(503, 20503, "Service Unavailable"))
        elif fault == "timeout_after" and status == 201:
            time.sleep(gateway.faults.hang_seconds)  # longer than the client's timeout
            self.close_connection = True
        elif fault == "drop_after" and status == 201:
            self.close_connection = True  # accepted, but the answer never leaves
        else:
            self._reply(status, payload)

    def do_GET(self) -> None:
        if self.path == "/_test/stats":
            # Not Twilio: what a benchmark running the gateway in another process needs to read back.
            self._reply(200, self.world.stats())
            return
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
        self.final_error: dict[str, int] = {}  # number -> error code its messages end with (e.g. 30007)
        self.whatsapp_users: set[str] = set()
        self.forced_errors: dict[str, tuple[int, int]] = {}  # number -> (HTTP status, Twilio code) on create
        self.faults = Faults()
        self.callbacks = "in_order"  # or "reversed", "twice", "none"
        self.callback_log: list[tuple[str, str, int]] = []  # (sid, status, HTTP status of our webhook)
        self.on_create: Callable[[GatewayMessage], None] | None = None
        self.arrivals: list[float] = []  # time.monotonic() of every accepted create
        self.inbound_numbers: dict[str, datetime] = {}  # number -> when it last wrote to us
        # Twilio's keyword handling. Without Advanced Opt-Out (a plain number): the default keywords are answered
        # and the webhook carries no OptOutType. With it (a Messaging Service): the service's own keyword lists
        # (they start as the defaults; an organisation may add its language's words), answered with its own
        # texts, and the webhook says which list matched in OptOutType (STOP, START or HELP).
        self.advanced_opt_out = False
        self.keywords: dict[str, set[str]] = {
            "STOP": set(TWILIO_STOP_WORDS),
            "START": set(TWILIO_START_WORDS),
            "HELP": set(TWILIO_HELP_WORDS),
        }
        self.auto_replies: list[GatewayMessage] = []  # what Twilio itself answered to keywords
        self.from_number = "+15555550101"
        self._lock = threading.Lock()
        self._callback_threads: list[threading.Thread] = []

    def twilio_settings(self) -> dict[str, str]:
        """The `twilio:` settings that point outreach at this gateway."""
        return {
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": self.from_number,
            "messaging_service_sid": "",
            "api_base_url": self.url,
        }

    def backdate(self, sid: str, created: datetime) -> None:
        """Move a message's creation (and send) time into the past, as if it had been sent then. The gateway stamps
        each message with the real time it arrived; a test of reconciliation minutes after a claim needs the
        message to be as old as that claim, or a search from "now" would find it too."""
        with self._lock:
            message = next(m for m in self.messages if m.sid == sid)
            message.created = created.astimezone(UTC).replace(microsecond=0)

    def get(self, sid: str) -> GatewayMessage | None:
        with self._lock:
            return next((m for m in self.messages if m.sid == sid), None)

    def create(self, account: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to, body, content_sid = form.get("To", ""), form.get("Body", ""), form.get("ContentSid") or None
        sender, service = form.get("From", ""), form.get("MessagingServiceSid") or None
        whatsapp = to.startswith("whatsapp:")
        number = to.removeprefix("whatsapp:")
        if not sender and not service:
            return 400, twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if not body and not content_sid:
            return 400, twilio_error(400, 21602, "Message body is required.")
        if not _valid_e164(number):
            return 400, twilio_error(400, 21211, f"Invalid 'To' Phone Number: {number}")
        if number in self.opted_out:
            return 400, twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        if number in self.forced_errors:
            http_status, code = self.forced_errors[number]
            return http_status, twilio_error(http_status, code, f"forced error {code}")
        if whatsapp and number not in self.whatsapp_users:
            return 400, twilio_error(400, 63024, "Invalid message recipient")
        if whatsapp and not content_sid and not self._in_whatsapp_window(number):
            return 400, twilio_error(400, 63016, "Failed to send freeform message because you are outside the window")
        final_error = self.final_error.get(number)
        status = "undelivered" if number in self.undeliverable or final_error else "delivered"
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
            error_code=(final_error or 30003) if status == "undelivered" else None,
            content_sid=content_sid,
            validity_period=int(form["ValidityPeriod"]) if form.get("ValidityPeriod") else None,
        )
        with self._lock:
            self.messages.append(message)
        created = message.resource() | {"status": "queued", "error_code": None, "date_sent": None}
        return 201, created

    def after_create(self, sid: str) -> None:
        message = self.get(sid)
        assert message is not None
        self.arrivals.append(time.monotonic())
        if self.on_create is not None:
            self.on_create(message)
        if message.status_callback and self.callbacks != "none":
            thread = threading.Thread(target=self._send_callbacks, args=(message,), daemon=True)
            self._callback_threads.append(thread)
            thread.start()

    def _in_whatsapp_window(self, number: str) -> bool:
        wrote = self.inbound_numbers.get(number)
        return wrote is not None and datetime.now(UTC) - wrote < timedelta(hours=24)

    # -- signed requests to our webhooks --------------------------------------------------------------------

    def sign(self, url: str, params: dict[str, str]) -> str:
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def post_signed(self, url: str, params: dict[str, str], signature: str | None = None) -> int:
        """POST a form like Twilio does; returns the HTTP status our webhook answered with."""
        request = urllib.request.Request(  # noqa: S310 - tests only post to 127.0.0.1
            url,
            data=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": self.sign(url, params) if signature is None else signature,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def _send_callbacks(self, message: GatewayMessage) -> None:
        assert message.status_callback is not None
        states = ["sent", message.status]
        if self.callbacks == "reversed":
            states.reverse()
        elif self.callbacks == "twice":
            states = states + states
        for state in states:
            params = {
                "AccountSid": self.account_sid,
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "MessageStatus": state,
                "SmsStatus": state,
                "To": message.to,
                "From": message.from_,
                "ApiVersion": "2010-04-01",
            }
            if state in ("undelivered", "failed") and message.error_code:
                params["ErrorCode"] = str(message.error_code)
            try:
                code = self.post_signed(message.status_callback, params)
            except OSError:
                code = 0
            with self._lock:
                self.callback_log.append((message.sid, state, code))

    def wait_for_callbacks(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self._callback_threads):
            thread.join(max(deadline - time.monotonic(), 0))

    def inbound(
        self,
        webhook_url: str,
        from_number: str,
        body: str,
        *,
        whatsapp: bool = False,
        signature: str | None = None,
        to: str | None = None,
    ) -> int:
        """A person writes to our number (or `to`, another of the account's numbers). Twilio's own keywords change
        its opt-out list, as on a real account."""
        word = body.strip().upper()
        params = {
            "AccountSid": self.account_sid,
            "MessageSid": "SM" + secrets.token_hex(16),
            "SmsSid": "",
            "From": ("whatsapp:" if whatsapp else "") + from_number,
            "To": ("whatsapp:" if whatsapp else "") + (to or self.from_number),
            "Body": body,
            "NumMedia": "0",
            "ApiVersion": "2010-04-01",
        }
        params["SmsSid"] = params["MessageSid"]
        lists = self.keywords if self.advanced_opt_out else {
            "STOP": TWILIO_STOP_WORDS, "START": TWILIO_START_WORDS, "HELP": TWILIO_HELP_WORDS
        }  # fmt: skip
        kind = next((kind for kind, words in lists.items() if word in words), None) if not whatsapp else None
        if kind == "STOP":
            self.opted_out.add(from_number)
        elif kind == "START":
            self.opted_out.discard(from_number)
        if kind is not None:
            if self.advanced_opt_out:
                params["OptOutType"] = kind
            self._auto_reply(params["To"], from_number, TWILIO_REPLIES[kind])
        self.inbound_numbers[from_number] = datetime.now(UTC)
        return self.post_signed(webhook_url, params, signature)

    def _auto_reply(self, sender: str, to: str, body: str) -> None:
        """Twilio's own answer to a keyword: sent by Twilio, never through the API, so not among `messages`."""
        reply = GatewayMessage(
            sid="SM" + secrets.token_hex(16),
            account_sid=self.account_sid,
            to=to,
            from_=sender,
            body=body,
            status="delivered",
            created=datetime.now(UTC).replace(microsecond=0),
        )
        with self._lock:
            self.auto_replies.append(reply)

    def twilio_answers_to(self, number: str, kind: str = "STOP") -> int:
        """How many times Twilio itself answered this number's keyword of `kind`."""
        with self._lock:
            return sum(1 for m in self.auto_replies if m.to == number and m.body == TWILIO_REPLIES[kind])

    # -- listing ------------------------------------------------------------------------------------------------

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

    def stats(self) -> dict[str, Any]:
        with self._lock:
            per_number: dict[str, int] = {}
            for message in self.messages:
                number = message.to.removeprefix("whatsapp:")
                per_number[number] = per_number.get(number, 0) + 1
            return {"arrivals": list(self.arrivals), "per_number": per_number, "faults": dict(self.faults.injected)}

    def sent_to(self) -> dict[str, list[GatewayMessage]]:
        with self._lock:
            result: dict[str, list[GatewayMessage]] = {}
            for message in self.messages:
                result.setdefault(message.to.removeprefix("whatsapp:"), []).append(message)
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
        # Like Twilio: the filter has a day's precision.
        return message.created.date().isoformat() >= since[:10]
    return True


def main() -> None:
    """Run the gateway on its own (a benchmark keeps it out of the measured process, as Twilio would be)."""
    import argparse

    parser = argparse.ArgumentParser(description="Twilio-compatible test gateway on 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hang-seconds", type=float, default=3.0)
    args = parser.parse_args()
    gateway = TwilioGateway(port=args.port)
    gateway.callbacks = "none"
    gateway.faults = Faults(rate=args.fault_rate, seed=args.seed, hang_seconds=args.hang_seconds)
    with gateway:
        print(gateway.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
