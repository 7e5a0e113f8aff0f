"""A layout that renders listing and detail pages with JavaScript from a JSON API: without a browser a crawler
sees only an empty shell. An age gate shows first; clicking it sets a cookie the API insists on. The phone number
is not in the advert: a "show number" button loads it (only a click in the browser reveals it).

Like a real site, every page also asks for its script (through a redirect to the current bundle) and stylesheet,
both cacheable, a logo, a web font and a tracker on another host (`localhost` instead of `127.0.0.1`: the same
server, so its request log shows whether the crawl fetched it)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from testworld.fixture_site import PAGE_SIZE, Answer, GeneratedAdvert, Visit, _page

if TYPE_CHECKING:
    from testworld.fixture_site import FixtureSite

GATE_COOKIE = "gate"
_DETAIL = re.compile(r"^/app/advert/(?P<id>[A-Z0-9]+)$")
_API_DETAIL = re.compile(r"^/api/adverts/(?P<id>[A-Z0-9]+)(?P<number>/number)?$")

_SCRIPT = """
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
  "'": "&#39;"}[c]));
const root = document.getElementById("root");
function listing(data) {
  return data.adverts.map((a) => `<article class="card"><a class="link" href="/app/advert/${a.id}">` +
    `${esc(a.title)}</a><span class="city">${esc(a.city)}</span></article>`).join("") +
    (data.next ? `<a class="next" href="${data.next}">Volgende</a>` : "");
}
function contact(n) {
  let links = n.tel ? `<a class="tel" href="${esc(n.tel)}">${esc(n.shown)}</a>` : "Geen nummer";
  if (n.whatsapp) links += ` <a class="wa" href="${esc(n.whatsapp)}">WhatsApp</a>`;
  return links + '<p class="number-shown"></p>';
}
function reveal(id) {
  fetch(`/api/adverts/${id}/number`).then((r) => r.json()).then((n) => {
    document.querySelector("div.contact").innerHTML = contact(n);
  });
}
function detail(a) {
  return `<div class="ad" data-ad-id="${a.id}"><h1 class="title">${esc(a.title)}</h1>` +
    `<p class="city">${esc(a.city)}</p><p class="category">${esc(a.category)}</p>` +
    `<div class="text">${esc(a.text)}</div>` +
    `<div class="contact"><button class="reveal" onclick="reveal('${a.id}')">Toon nummer</button></div></div>`;
}
function show() {
  const id = location.pathname.startsWith("/app/advert/") ? location.pathname.split("/").pop() : null;
  const page = new URLSearchParams(location.search).get("page") || "1";
  fetch(id ? `/api/adverts/${id}` : `/api/adverts?page=${page}`)
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => {
      root.innerHTML = (data ? (id ? detail(data) : listing(data)) : "") + '<p class="rendered"></p>';
    });
}
if (document.cookie.includes("gate=ok")) {
  show();
} else {
  root.innerHTML = '<div class="gate"><p>18+ only</p><button id="enter">Enter</button></div>';
  document.getElementById("enter").onclick = () => {
    document.cookie = "gate=ok; path=/";
    show();
  };
}
"""


_STYLE = """
@font-face { font-family: "Fixture Sans"; src: url("/static/fixture-sans.woff2") format("woff2"); }
body { font-family: "Fixture Sans", sans-serif; }
.card { display: block; margin: 4px; }
"""
# Cacheable for a day, as sites serve their static files.
STATIC = {
    "/static/app.js": (_SCRIPT.encode(), "application/javascript"),
    "/static/app.css": (_STYLE.encode(), "text/css"),
    "/static/logo.png": (bytes.fromhex("89504e470d0a1a0a"), "image/png"),
    "/static/fixture-sans.woff2": (b"wOF2", "font/woff2"),
}
STATIC_HEADERS = {"Cache-Control": "public, max-age=86400", "ETag": '"fixture-1"'}
SCRIPT_LINK = "/static/main.js"  # redirects to /static/app.js
TRACKER_PATH = "/tracker.js"


def _shell(site: FixtureSite, title: str) -> bytes:
    third_party = site.url.replace("127.0.0.1", "localhost") + TRACKER_PATH
    return _page(
        title,
        '<link rel="stylesheet" href="/static/app.css"><img class="logo" src="/static/logo.png" alt="">'
        f'<div id="root">Laden...</div><script src="{SCRIPT_LINK}"></script><script src="{third_party}"></script>',
    )


def _json(data: object) -> Answer:
    return Answer(200, json.dumps(data, ensure_ascii=False).encode(), "application/json")


def _advert(ad: GeneratedAdvert) -> dict[str, object]:
    text = ad.text.replace(ad.phone_written, "(toon nummer)") if ad.phone_written else ad.text
    return {"id": ad.id, "title": ad.title, "city": ad.city, "category": ad.category, "text": text}


def _number(ad: GeneratedAdvert) -> dict[str, object]:
    return {
        "tel": f"tel:{ad.phone}" if ad.phone else None,
        "shown": ad.phone_written or ad.phone,
        "whatsapp": ad.whatsapp,
    }


def answer(site: FixtureSite, visit: Visit) -> Answer | None:
    if visit.path in ("/", "/app"):
        return Answer(200, _shell(site, "Advertenties"))
    if _DETAIL.match(visit.path):
        return Answer(200, _shell(site, "Advertentie"))
    if visit.path == SCRIPT_LINK:
        return Answer(302, b"", "text/plain", {"Location": "/static/app.js"})
    if visit.path in STATIC:
        body, content_type = STATIC[visit.path]
        return Answer(200, body, content_type, dict(STATIC_HEADERS))
    if not visit.path.startswith("/api/"):
        return None
    if visit.cookies.get(GATE_COOKIE) != "ok":
        return Answer(403, b'{"error": "age gate not accepted"}', "application/json")
    if visit.path == "/api/adverts":
        page, listed = visit.page(), site.listed()
        adverts = listed[(page - 1) * PAGE_SIZE : page * PAGE_SIZE] if page >= 1 else []
        more = page >= 1 and page * PAGE_SIZE < len(listed)
        return _json(
            {
                "adverts": [{"id": ad.id, "title": ad.title, "city": ad.city} for ad in adverts],
                "next": f"/app?page={page + 1}" if more else None,
            }
        )
    match = _API_DETAIL.match(visit.path)
    ad = site.by_id.get(match["id"]) if match else None
    if ad is None or ad.id in site.hidden:
        return Answer(404, b'{"error": "not found"}', "application/json")
    return _json(_number(ad) if match and match["number"] else _advert(ad))
