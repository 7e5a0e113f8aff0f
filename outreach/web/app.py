"""The ASGI app behind `outreach serve`: Twilio webhooks, health endpoints and the dashboard (outreach.web.dashboard).

Database work runs in Starlette's thread pool (SQLAlchemy sessions are synchronous). A forged or unsigned request
gets 403 and changes nothing. Logs carry ids and outcomes, never a number or a message text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from messaging.intents import Intent
from messaging.outbox.delivery import apply_status
from outreach.crypto import PhoneVault
from outreach.errors import ConfigError
from outreach.people import optouts
from outreach.people.inbound import Inbound, InboundResult, receive
from outreach.settings import Settings
from outreach.store.db import Store, current_revision, head_revision
from outreach.support.notify import Notifier
from outreach.web.dashboard.routes import SecurityHeaders, dashboard_routes
from outreach.web.limits import FormBodyLimits
from outreach.web.twilio_signature import is_signed_by_twilio

logger = logging.getLogger("outreach.web")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_FORM_BYTES = 64 * 1024


class RowId(Convertor[int]):
    """A row id in a path: at most 9 digits, so it fits PostgreSQL's INTEGER and SQLite's; a longer number is no
    route (404), never an overflow in the database driver (500)."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", RowId())


class Webhooks:
    def __init__(self, settings: Settings, store: Store) -> None:
        if not settings.web.public_url:
            raise ConfigError("web.public_url: required to check Twilio's signatures (the URL Twilio calls)")
        if settings.twilio.auth_token is None:
            raise ConfigError("twilio.auth_token: required to check Twilio's signatures")
        self.settings = settings
        self.store = store
        self.vault = PhoneVault.from_settings(settings)
        self.validator = RequestValidator(settings.twilio.auth_token.get_secret_value())
        self.notify = Notifier(settings.notify, settings.organisation.name)

    async def _signed_form(self, request: Request) -> dict[str, str] | None:
        form = {key: str(value) for key, value in (await request.form()).items()}
        if not is_signed_by_twilio(self.validator, request, self.settings.web.public_url, form):
            logger.warning("rejected unsigned or forged request to %s", request.url.path)
            return None
        return form

    async def status(self, request: Request) -> Response:
        form = await self._signed_form(request)
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        message_id = int(request.path_params["message_id"])
        code = form.get("ErrorCode")
        error_code = int(code) if code and code.isdigit() else None
        change = await run_in_threadpool(
            self._apply_status, message_id, form.get("MessageStatus", ""), error_code, form.get("MessageSid")
        )
        logger.info("status message=%s status=%s moved=%s", message_id, form.get("MessageStatus"), bool(change))
        return PlainTextResponse("", status_code=200)

    def _apply_status(self, message_id: int, status: str, error_code: int | None, sid: str | None) -> object:
        with self.store.session() as session:
            return apply_status(
                session,
                message_id,
                status,
                error_code,
                actor="twilio",
                provider_sid=sid,
                notify=self.notify,
                stops=optouts,
            )

    async def inbound(self, request: Request) -> Response:
        form = await self._signed_form(request)
        if form is None:
            return PlainTextResponse("forbidden", status_code=403)
        inbound = Inbound(
            provider_sid=form.get("MessageSid") or form.get("SmsSid") or "",
            from_address=form.get("From", ""),
            body=form.get("Body", ""),
            opt_out_type=form.get("OptOutType") or None,
            to_address=form.get("To", ""),
        )
        if not inbound.provider_sid:
            return PlainTextResponse("MessageSid missing", status_code=400)
        result = await run_in_threadpool(self._receive, inbound)
        logger.info("inbound message=%s intent=%s", result.message_id, result.intent)
        if result.intent in (Intent.REPLY, Intent.POSSIBLE_OPT_OUT):
            await run_in_threadpool(
                self.notify,
                "reply.waiting",
                {"message_id": result.message_id, "person_id": result.person_id, "intent": result.intent.value},
            )
        return Response(EMPTY_TWIML, media_type="text/xml")

    def _receive(self, inbound: Inbound) -> InboundResult:
        with self.store.session() as session:
            return receive(session, self.vault, self.settings, inbound)


def server_options(settings: Settings, host: str | None = None, port: int | None = None) -> dict[str, Any]:
    """uvicorn's options for `outreach serve` (README, Behind a reverse proxy)."""
    return {
        "host": host or settings.web.host,
        "port": settings.web.port if port is None else port,
        "log_config": None,  # keep the JSON handler configure_json_logging installed
        "log_level": "info",
        # The dashboard reads X-Forwarded-For itself, from web.trusted_proxies only (outreach.web.client_address);
        # uvicorn's own handling would trust 127.0.0.1 by default.
        "proxy_headers": False,
        "timeout_keep_alive": settings.web.keep_alive_seconds,
        "limit_concurrency": settings.web.max_concurrency,
        "h11_max_incomplete_event_size": 16 * 1024,  # request line and headers; a form body is limited apart
        "timeout_graceful_shutdown": 10,
        "access_log": False,  # access lines would carry the message ids only, but keep logs small
    }


def create_app(settings: Settings) -> Starlette:
    store = Store(settings.database_url)
    hooks = Webhooks(settings, store)
    dashboard = dashboard_routes(settings, store)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        checks: dict[str, Any] = {"keys": True}
        try:
            current = await run_in_threadpool(current_revision, store.engine)  # not an engine per probe
            checks["database"] = True
            head = head_revision()
            checks["migrations"] = True if current == head else f"at {current}, head is {head}: outreach db upgrade"
        except Exception as exc:  # any database failure means "not ready"; say which kind
            checks["database"] = f"unreachable: {exc.__class__.__name__}"
            checks["migrations"] = False
        ready = all(value is True for value in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/twilio/status/{message_id:id}", hooks.status, methods=["POST"]),
        Route("/twilio/inbound", hooks.inbound, methods=["POST"]),
        *dashboard.routes,
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stopping = threading.Event()
        warming = threading.Thread(target=dashboard.warm, args=(stopping,), name="dashboard-warm", daemon=True)
        if settings.web.count_at_start:
            warming.start()
        yield
        stopping.set()
        if warming.is_alive():
            await run_in_threadpool(warming.join)  # the count under way ends before the database closes
        store.close()

    # Every POST, the webhooks' and the dashboard's forms, is a form of at most MAX_FORM_BYTES, checked as it
    # arrives and before any handler runs.
    limits = Middleware(FormBodyLimits, MAX_FORM_BYTES)
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders), limits])
    # No "add a slash" redirects: Starlette builds them from the request's Host header, so `Host: evil.example` on
    # /static would send the browser to evil.example. A path that is not a route is a 404.
    app.router.redirect_slashes = False
    return app
