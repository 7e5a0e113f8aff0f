"""A Next.js-like layout ("appdata"): a JavaScript app whose data sits in the HTML as JSON, so it is crawled without
a browser.

- A consent and 18+ wall: any page without the cookie redirects to `/toegang?terug=...`; the "I agree" link
  `/toegang/ja` (a plain GET) sets the cookie and redirects back.
- Listing pages `/aanbod?offset=0, 12, 24, ...` render nothing but an empty `<div id="root">` and a "Meer laden"
  button without a link; their adverts are only in `<script id="__NEXT_DATA__" type="application/json">`, after a
  translations block that is JSON too.
- Detail pages `/advertentie/<slug>-<id>`: the id is only in the path, the fields only in the page's JSON; a
  WhatsApp icon (no wa.me link) on adverts of people who use WhatsApp; a `<meta name="csrf-token">` issued per page.
- The number is behind a "Toon nummer" button that posts `advert=<id>` with the page's token (form field `_token`
  or header `X-CSRF-Token`) to `/api/nummer`, which answers `{"nummer": "..."}` as the advert wrote it (or `null`);
  a missing or wrong token is refused with 419.
- robots.txt disallows `/api/stats`, the pages' statistics beacon.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from testworld.fixture_site import Answer, FixtureWorld, GeneratedAdvert, Visit

if TYPE_CHECKING:
    from testworld.fixture_site import FixtureSite

GATE_COOKIE = "toegang"
PAGE_SIZE = 12
STATS_PATH = "/api/stats"  # disallowed in robots.txt
_DETAIL = re.compile(r"^/advertentie/[a-z0-9-]+-(?P<id>\d+)$")
_OFFSET = re.compile(r"^\d{1,6}$")


def slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "advertentie"


def adapt(world: FixtureWorld) -> None:
    """Numeric ids, shown only in the detail URL `/advertentie/<slug>-<id>`."""
    for index, ad in enumerate(world.adverts):
        ad.id = str(410000 + index * 13)
        ad.path = f"/advertentie/{slug(ad.title)}-{ad.id}"


def shown_number(ad: GeneratedAdvert) -> str | None:
    """The number as the advert wrote it (in its text, else its tel: link)."""
    if ad.phone_written:
        return ad.phone_written
    if ad.tel_link:
        return ad.tel_link.removeprefix("tel:")
    return ad.phone


def answer(site: FixtureSite, visit: Visit) -> Answer | None:
    if visit.path == "/toegang":
        return Answer(200, _gate_page(visit.query.get("terug", ["/aanbod"])[0]))
    if visit.path == "/toegang/ja":
        target = visit.query.get("terug", ["/aanbod"])[0]
        target = target if target.startswith("/") and not target.startswith("//") else "/aanbod"
        cookie = f"{GATE_COOKIE}=ja; Path=/; SameSite=Lax"
        return Answer(302, b"", headers={"Location": target, "Set-Cookie": cookie})
    if visit.cookies.get(GATE_COOKIE) != "ja":
        here = visit.path + ("?" + urlencode(visit.query, doseq=True) if visit.query else "")
        return Answer(302, b"", headers={"Location": "/toegang?terug=" + quote(here, safe="")})
    if visit.path in ("/", "/aanbod"):
        offset = visit.query.get("offset", ["0"])[0]
        return _listing(site.listed(), int(offset)) if _OFFSET.match(offset) else None
    if visit.path == "/api/nummer":
        return _number(site, visit)
    if visit.path == STATS_PATH:
        return Answer(204, b"")
    match = _DETAIL.match(visit.path)
    ad = site.by_path.get(visit.path) if match else None
    if ad is None or ad.id in site.hidden:
        return None
    token = secrets.token_urlsafe(24)
    site.csrf_tokens[token] = ad.id
    return Answer(200, _detail(ad, token))


def _json(data: object, status: int = 200) -> Answer:
    return Answer(status, json.dumps(data, ensure_ascii=False).encode(), "application/json")


def _script_json(data: object) -> str:
    """JSON that is safe inside a <script> element."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _shell(title: str, head: str, root: str, data: object) -> bytes:
    """What a JavaScript framework serves: an almost empty body, the page's data as JSON, the app's script."""
    return (
        f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{head}'
        '<script type="application/json" id="__i18n">{"meerLaden": "Meer laden", "toonNummer": "Toon nummer"}'
        f'</script></head><body><div id="root">{root}</div>'
        f'<script id="__NEXT_DATA__" type="application/json">{_script_json(data)}</script>'
        f'<script>navigator.sendBeacon("{STATS_PATH}", location.pathname);</script>'
        '<script src="/_next/static/app.js" defer></script></body></html>'
    ).encode()


def _gate_page(target: str) -> bytes:
    link = "/toegang/ja?terug=" + quote(target, safe="")
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Toegang</title></head><body>'
        '<div class="toegang"><p>Deze site gebruikt cookies en is alleen voor 18+.</p>'
        f'<a class="akkoord" href="{html.escape(link)}">Ik ben 18+ en ga akkoord</a></div></body></html>'
    ).encode()


def _listing(listed: list[GeneratedAdvert], offset: int) -> Answer:
    shown = listed[offset : offset + PAGE_SIZE]
    more = offset + PAGE_SIZE < len(listed)
    entries = [
        {"slug": slug(ad.title), "id": int(ad.id), "title": ad.title, "city": ad.city, "thumb": f"/img/{ad.id}.jpg"}
        for ad in shown
    ]
    data = {
        "props": {"pageProps": {"adverts": entries, "offset": offset, "hasMore": more}},
        "page": "/aanbod",
        "buildId": "fixture",
    }
    button = '<button class="meer-laden" type="button">Meer laden</button>' if more else ""
    return Answer(200, _shell("Aanbod", "", button, data))


def _detail(ad: GeneratedAdvert, token: str) -> bytes:
    text = ad.text.replace(ad.phone_written, "(nummer via de knop)") if ad.phone_written else ad.text
    actions = (
        '<button class="toon-nummer" type="button" data-href="/api/nummer">Toon nummer</button>' if ad.phone else ""
    )
    if ad.whatsapp:
        actions += '<span class="icon-whatsapp" title="WhatsApp"></span>'
    data = {
        "props": {
            "pageProps": {
                "advert": {"title": ad.title, "text": text, "city": ad.city, "category": ad.category},
                "stats": {"url": STATS_PATH},
            }
        },
        "page": "/advertentie/[slug]",
        "buildId": "fixture",
    }
    head = f'<meta name="csrf-token" content="{token}">'
    return _shell(ad.title, head, f'<div class="advert-actions">{actions}</div>', data)


def _number(site: FixtureSite, visit: Visit) -> Answer:
    if visit.method != "POST":
        return _json({"message": "Method not allowed."}, 405)
    given = [token for token in (visit.form.get("_token"), visit.headers.get("x-csrf-token")) if token]
    ad = site.by_id.get(visit.form.get("advert", ""))
    if not given or any(site.csrf_tokens.get(token) != visit.form.get("advert") for token in given):
        return _json({"message": "CSRF token mismatch."}, 419)
    if ad is None or ad.id in site.hidden:
        return _json({"message": "Not found."}, 404)
    return _json({"nummer": shown_number(ad)})
