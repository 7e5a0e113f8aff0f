"""Held adverts in the browser (`outreach review` in the CLI): the adverts a hold keyword, an unknown city or an
unknown category stopped, with masked numbers, a snippet and the rule; approve (the first message is queued
through the cycle's own path, every send rule still applies) or reject, always with a reason. The same
outreach.targeting.review functions and audit events as the CLI; an organisation decides on its own regions only."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from outreach.access.roles import visible_organisations, visible_regions
from outreach.access.users import SessionUser
from outreach.errors import N_
from outreach.store.types import utcnow
from outreach.targeting.review import decide, waiting
from outreach.web.dashboard.core import NO_REASON, Dashboard, Form, HTTPProblem, int_param


class ReviewPages:
    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard
        self._detector: Any = None  # loaded at the first approval

    def _regions(self, user: SessionUser) -> set[str] | None:
        settings = self.dashboard.settings
        return visible_regions(settings, visible_organisations(settings, user.name))

    def held(self, request: Request, user: SessionUser, form: Form) -> Response:
        with self.dashboard.store.session() as session:
            items = waiting(session, self.dashboard.vault, 200, self._regions(user))
        return self.dashboard.render(
            request,
            "review.html",
            {
                "user": user,
                "items": items,
                "decided": request.query_params.get("decided"),
                "queued": int_param(request.query_params.get("queued"), "queued"),
            },
        )

    def _detector_and_templates(self) -> tuple[Any, Any]:
        if self._detector is None:
            from messaging.language import make_detector

            self._detector = make_detector(self.dashboard.settings)
        return self._detector, self.dashboard.first_contact_templates()

    def decide(self, request: Request, user: SessionUser, form: Form) -> Response:
        held_id = int(request.path_params["held_id"])
        approve = form.get("decision") == "approve"
        if form.get("decision") not in ("approve", "reject"):
            raise HTTPProblem(400, N_("Choose one of the actions offered."))
        reason = form.get("reason", "").strip()
        if not reason:
            raise HTTPProblem(400, NO_REASON)
        regions = self._regions(user)
        with self.dashboard.store.session() as session:
            if held_id not in {item.id for item in waiting(session, self.dashboard.vault, 10_000, regions)}:
                raise HTTPProblem(404, N_("No such held advert."))
        detector, templates = self._detector_and_templates() if approve else (None, None)
        with self.dashboard.store.session() as session:
            result = decide(
                session,
                held_id,
                approve=approve,
                actor=user.name,
                reason=reason,
                now=utcnow(),
                settings=self.dashboard.settings,
                detector=detector,
                templates=templates,
                regions=regions,
            )
        return RedirectResponse(f"/review?decided={result.status}&queued={result.queued}", status_code=303)
