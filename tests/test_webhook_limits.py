"""Webhook requests that are correctly signed but too large or not a form are refused before any handler runs:
413 for a body over the limit (whether it says so in Content-Length or arrives chunked without one), 415 for any
content type but Twilio's `application/x-www-form-urlencoded`; in every case nothing in the database changes.

Each refused request would have had an effect if accepted (an opt-out, a delivery state); the same request sent
the right way afterwards is accepted, so it is the limit that refused it."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from outreach.crypto import PhoneVault
from outreach.store.db import Store
from outreach.store.models import AuditEvent, Message, OptOut
from outreach.web.app import MAX_FORM_BYTES
from tests.conftest import World
from tests.messaging_world import numbers, queue, webhook_server

FORM = "application/x-www-form-urlencoded"
PADDING = "x" * (MAX_FORM_BYTES + 1024)


def _post(url: str, body: bytes, headers: dict[str, str], *, chunked: bool = False) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        if chunked:  # no Content-Length: the server only learns the size by reading
            pieces = iter([body[i : i + 8192] for i in range(0, len(body), 8192)])
            connection.request("POST", parts.path, body=pieces, headers=headers, encode_chunked=True)
        else:
            connection.request("POST", parts.path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def _multipart(params: dict[str, str]) -> tuple[bytes, str]:
    boundary = "outreach-test-boundary"
    fields = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in params.items()
    )
    return f"{fields}--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _snapshot(store: Store) -> tuple[Any, ...]:
    with store.session() as session:
        messages = sorted(tuple(row) for row in session.execute(select(Message.id, Message.direction, Message.status)))
        opt_outs = session.execute(select(func.count()).select_from(OptOut)).scalar_one()
        events = session.execute(select(func.count(AuditEvent.id))).scalar_one()
    return messages, opt_outs, events


Variant = Callable[[dict[str, str]], tuple[bytes, dict[str, str], bool]]
REFUSED: dict[str, tuple[int, Variant]] = {
    "oversized": (413, lambda p: (urlencode({**p, "Pad": PADDING}).encode(), {"Content-Type": FORM}, False)),
    "oversized, chunked": (413, lambda p: (urlencode({**p, "Pad": PADDING}).encode(), {"Content-Type": FORM}, True)),
    "json": (415, lambda p: (json.dumps(p).encode(), {"Content-Type": "application/json"}, False)),
    "multipart": (415, lambda p: (_multipart(p)[0], {"Content-Type": _multipart(p)[1]}, False)),
    "text": (415, lambda p: (urlencode(p).encode(), {"Content-Type": "text/plain"}, False)),
    "no content type": (415, lambda p: (urlencode(p).encode(), {}, False)),
}


@pytest.mark.parametrize("route", ["status", "inbound"])
def test_oversized_or_non_form_webhooks_are_refused_and_change_nothing(route: str, world: World) -> None:
    with webhook_server(world) as (settings, server):
        store, vault = world.store(), PhoneVault.from_settings(settings)
        [number] = numbers(1)
        sid = "SM" + "2" * 32
        message_id = queue(store, vault, number, status="sent", provider_sid=sid)
        if route == "status":
            url = f"{server.url}/twilio/status/{message_id}"
            params = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": world.gateway.account_sid}
        else:
            url = f"{server.url}/twilio/inbound"
            params = {"MessageSid": "SM" + "3" * 32, "From": number, "To": world.gateway.from_number, "Body": "STOPPEN"}
        before = _snapshot(store)
        for name, (expected, variant) in REFUSED.items():
            body, headers, chunked = variant(params)
            signed = dict(params, Pad=PADDING) if name.startswith("oversized") else params
            headers["X-Twilio-Signature"] = world.gateway.sign(url, signed)
            assert _post(url, body, headers, chunked=chunked) == expected, name
            assert _snapshot(store) == before, name
        # The same request as Twilio sends it is accepted and has its effect.
        assert world.gateway.post_signed(url, params) == 200
        assert _snapshot(store) != before
