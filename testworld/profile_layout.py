"""A Boys4u/Rentmen-like layout: profile cards of men and trans advertisers behind an age gate (a form that sets a
cookie), the phone number hidden behind a "show number" button that loads it with a request."""

from __future__ import annotations

import html
import random
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from testworld.fixture_site import PAGE_SIZE, Answer, FixtureWorld, GeneratedAdvert, Visit, _page

if TYPE_CHECKING:
    from testworld.fixture_site import FixtureSite

GATE_COOKIE = "adult_ok"
CATEGORIES = ("man", "trans")
_PROFILE = re.compile(r"^/profiel/(?P<id>[A-Z0-9]+)(?P<number>/nummer)?$")


def adapt(world: FixtureWorld, seed: int) -> None:
    """Profiles of men and trans advertisers, at /profiel/<id>."""
    rng = random.Random(seed * 7919)
    for ad in world.adverts:
        ad.category = rng.choice(CATEGORIES)
        ad.path = f"/profiel/{ad.id}"


def answer(site: FixtureSite, visit: Visit) -> Answer | None:
    if visit.path == "/gate":
        if visit.method == "POST" and visit.form.get("confirm") == "yes":
            target = visit.form.get("next") or "/profielen?page=1"
            return Answer(303, b"", headers={"Location": target, "Set-Cookie": f"{GATE_COOKIE}=1; Path=/"})
        return Answer(200, _gate_page(visit.query.get("next", ["/profielen?page=1"])[0]))
    if visit.cookies.get(GATE_COOKIE) != "1":
        return Answer(302, b"", headers={"Location": "/gate?next=" + quote(visit.path)})
    if visit.path in ("/", "/profielen"):
        return _listing(site.listed(), visit.page())
    match = _PROFILE.match(visit.path)
    ad = site.by_id.get(match["id"]) if match else None
    if match is None or ad is None or ad.id in site.hidden:
        return None
    return Answer(200, _number(ad) if match["number"] else _profile(ad))


def _gate_page(target: str) -> bytes:
    return _page(
        "Alleen voor volwassenen",
        '<form class="age-gate" method="post" action="/gate"><p>Deze site is alleen voor 18+.</p>'
        f'<input type="hidden" name="next" value="{html.escape(target)}">'
        '<button name="confirm" value="yes">Ik ben 18 of ouder</button></form>',
    )


def _listing(listed: list[GeneratedAdvert], page: int) -> Answer | None:
    cards = listed[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if page < 1 or not cards:
        return None
    body = "".join(
        f'<div class="profile-card"><a class="profile-link" href="{ad.path}">{html.escape(ad.title)}</a>'
        f'<span class="loc">{html.escape(ad.city)}</span><span class="kind">{ad.category}</span></div>'
        for ad in cards
    )
    more = page * PAGE_SIZE < len(listed)
    nav = f'<a class="volgende" href="/profielen?page={page + 1}">Meer profielen</a>' if more else ""
    return Answer(200, _page(f"Profielen {page}", f'<div class="grid">{body}</div><div class="pager">{nav}</div>'))


def _profile(ad: GeneratedAdvert) -> bytes:
    # The number is not on the page: only the button's request loads it.
    text = ad.text.replace(ad.phone_written, "(nummer via de knop)") if ad.phone_written else ad.text
    button = f'<button class="show-number" data-number-url="{ad.path}/nummer">Toon nummer</button>' if ad.phone else ""
    return _page(
        ad.title,
        f'<section class="profile" data-profile-id="{ad.id}"><h2 class="name">{html.escape(ad.title)}</h2>'
        f'<span class="location">{html.escape(ad.city)}</span><span class="kind">{ad.category}</span>'
        f'<div class="about"><p>{html.escape(text)}</p></div>{button}</section>',
        ad.language,
    )


def _number(ad: GeneratedAdvert) -> bytes:
    if not ad.phone:
        return b'<p class="no-number">Geen nummer</p>'
    shown = ad.phone_written or ad.phone
    links = f'<a class="tel" href="tel:{ad.phone}">{html.escape(shown)}</a>'
    if ad.whatsapp:
        links += f' <a class="wa" href="{html.escape(ad.whatsapp)}">WhatsApp</a>'
    return f'<div class="number">{links}</div>'.encode()
