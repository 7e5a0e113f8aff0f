"""A Kinky.nl-like fixture ad site: deterministic generated adverts, listing pages with pagination, detail pages,
a request log, and a ground truth of what every advert contains.

Phone numbers are generated at random in the shapes real numbers have; texts come from testworld/phrases.py.
"""

from __future__ import annotations

import contextlib
import html
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

from testworld.phrases import CATEGORIES, CITIES, CONTACT_LINES, NAMES, SENTENCES, TITLES
from testworld.server import BackgroundServer, QuietHandler

PAGE_SIZE = 24
LANGUAGE_WEIGHTS = {"nl": 35, "en": 20, "ro": 15, "pl": 15, "es": 15}
FOREIGN = {"ro": ("40", "7{a}{b}"), "pl": ("48", "{m}"), "es": ("34", "6{a}{b}")}
SITES = Path(__file__).parent / "sites"
SITE_FILES = {
    "kinky": SITES / "kinky_like.yaml",
    "js": SITES / "js_like.yaml",
    "profiles": SITES / "profiles_like.yaml",
    "appdata": SITES / "appdata_like.yaml",
}


@dataclass
class GeneratedPerson:
    language: str
    kind: str  # "mobile", "landline" or "none"
    e164: str | None
    national: str | None  # as dialled inside its country, without the trunk 0


@dataclass
class GeneratedAdvert:
    id: str
    path: str
    title: str
    text: str
    city: str
    category: str
    language: str
    phone: str | None
    phone_kind: str | None
    phone_written: str | None
    tel_link: str | None
    whatsapp: str | None
    person: int


@dataclass
class FixtureWorld:
    adverts: list[GeneratedAdvert] = field(default_factory=list)
    persons: list[GeneratedPerson] = field(default_factory=list)

    def eligible(self, mobile_countries: set[str], adverts: list[GeneratedAdvert] | None = None) -> dict[str, str]:
        """E.164 -> language of every person who should get a first message (from `adverts`: default all)."""
        prefixes = {"NL": "+31", "RO": "+40", "PL": "+48", "ES": "+34"}
        allowed = {prefixes[c] for c in mobile_countries if c in prefixes}
        advertised = {ad.person for ad in (self.adverts if adverts is None else adverts)}
        return {
            p.e164: p.language
            for index, p in enumerate(self.persons)
            if p.kind == "mobile" and p.e164 and p.e164[:3] in allowed and index in advertised
        }

    def ground_truth(self) -> dict[str, object]:
        return {
            "adverts": [asdict(ad) for ad in self.adverts],
            "eligible": self.eligible({"NL", "RO", "PL", "ES"}),
        }


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randint(0, 9)) for _ in range(count))


def _make_person(rng: random.Random, language: str) -> GeneratedPerson:
    roll = rng.random()
    if roll < 0.10:
        return GeneratedPerson(language, "none", None, None)
    if roll < 0.19:
        national = rng.choice(["10", "70"]) + _digits(rng, 7)  # Rotterdam and The Hague landlines
        return GeneratedPerson(language, "landline", "+31" + national, national)
    if language in FOREIGN and roll < 0.55:
        code, pattern = FOREIGN[language]
        head = pattern.format(a=rng.randint(2, 8), b=rng.randint(0, 9), m=rng.choice(["50", "60", "69", "72", "78"]))
        national = head + _digits(rng, 9 - len(head))
        return GeneratedPerson(language, "mobile", f"+{code}{national}", national)
    national = "6" + str(rng.randint(1, 5)) + _digits(rng, 7)
    return GeneratedPerson(language, "mobile", "+31" + national, national)


def _write_number(rng: random.Random, person: GeneratedPerson) -> str:
    """The many ways people write one number."""
    assert person.e164 and person.national
    n, code = person.national, person.e164[1 : len(person.e164) - len(person.national)]
    if code != "31":
        return rng.choice(
            [
                f"+{code} {n[:3]} {n[3:6]} {n[6:]}",
                f"00{code}{n}",
                f"+{code} {n[:3]}-{n[3:6]}-{n[6:]}",
                f"+{code}{n}",
            ]
        )
    if person.kind == "landline":
        return rng.choice([f"0{n[:2]}-{n[2:]}", f"0{n[:2]} {n[2:5]} {n[5:]}", f"+31 {n[:2]} {n[2:5]} {n[5:]}"])
    return rng.choice(
        [
            f"06 {n[1:]}",
            f"06-{n[1:]}",
            f"06-{n[1:5]} {n[5:]}",
            f"+31 6 {n[1:]}",
            f"+31 (0)6 {n[1:5]} {n[5:]}",
            f"0031 6 {n[1:]}",
            f"0031{n}",
            f"+31{n}",
            f"06.{n[1:3]}.{n[3:5]}.{n[5:7]}.{n[7:]}",
        ]
    )


def generate(seed: int = 1, count: int = 300) -> FixtureWorld:
    rng = random.Random(seed)
    world = FixtureWorld()
    languages = list(LANGUAGE_WEIGHTS)
    weights = list(LANGUAGE_WEIGHTS.values())
    person_count = int(count * 0.78)
    world.persons = [_make_person(rng, rng.choices(languages, weights)[0]) for _ in range(person_count)]
    with_number = [i for i, p in enumerate(world.persons) if p.kind != "none"]
    owners = list(range(person_count)) + [rng.choice(with_number) for _ in range(count - person_count)]
    rng.shuffle(owners)
    for index, owner in enumerate(owners):
        person = world.persons[owner]
        lang = person.language
        name, city = rng.choice(NAMES), rng.choice(CITIES)
        sentences = rng.sample(SENTENCES[lang], rng.randint(4, 6))
        text = " ".join(s.format(name=name) for s in sentences)
        written = tel = whatsapp = None
        if person.e164 and person.national:
            placement = rng.random()
            if placement < 0.75:
                written = _write_number(rng, person)
                text += " " + rng.choice(CONTACT_LINES[lang]).format(phone=written)
            if placement > 0.45:
                tel = "tel:" + rng.choice(
                    [person.e164, "0" + person.national if person.e164.startswith("+31") else person.e164]
                )
            if person.kind == "mobile" and rng.random() < 0.3:
                whatsapp = "https://wa.me/" + person.e164.lstrip("+")
        ad_id = f"K{100000 + index * 7}"
        world.adverts.append(
            GeneratedAdvert(
                id=ad_id,
                path=f"/advertentie/{ad_id}",
                title=rng.choice(TITLES[lang]).format(name=name, city=city),
                text=text,
                city=city,
                category=rng.choice(CATEGORIES),
                language=lang,
                phone=person.e164,
                phone_kind=person.kind if person.e164 else None,
                phone_written=written,
                tel_link=tel,
                whatsapp=whatsapp,
                person=owner,
            )
        )
    return world


def _page(title: str, body: str, lang: str = "nl") -> bytes:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f' - Fixture Advertenties</title></head><body><header><a href="/">Fixture Advertenties</a></header>'
        f"{body}<footer>Alle advertenties zijn gegenereerd voor tests.</footer></body></html>"
    ).encode()


def render_listing(listed: list[GeneratedAdvert], page: int, trap: str | None = None) -> bytes | None:
    """One listing page. Traps: "loop" links the last page back to page 1; "endless" serves the last page's
    adverts again on every page after it, each with a next link."""
    pages = (len(listed) + PAGE_SIZE - 1) // PAGE_SIZE
    shown = min(page, pages) if trap == "endless" else page
    start = (shown - 1) * PAGE_SIZE
    ads = listed[start : start + PAGE_SIZE]
    if page < 1 or not ads:
        return None
    cards = "".join(
        f'<article class="ad-card"><a class="ad-link" href="{ad.path}">{html.escape(ad.title)}</a>'
        f'<span class="city">{html.escape(ad.city)}</span></article>'
        for ad in ads
    )
    nav = f'<a class="next" href="/advertenties?page={page + 1}">Volgende</a>' if page < pages else ""
    if page >= pages and trap == "loop":
        nav = '<a class="next" href="/advertenties?page=1">Volgende</a>'
    elif page >= pages and trap == "endless":
        nav = f'<a class="next" href="/advertenties?page={page + 1}">Volgende</a>'
    return _page(f"Advertenties pagina {page}", f'<main class="listing">{cards}</main><nav>{nav}</nav>')


def render_detail(ad: GeneratedAdvert, numbers_hidden: bool = False) -> bytes:
    if numbers_hidden:  # the site moved numbers into an image or behind a login
        text = ad.text.replace(ad.phone_written, "[zie foto]") if ad.phone_written else ad.text
        ad = replace(ad, text=text, tel_link=None, whatsapp=None)
    contact = ""
    if ad.tel_link:
        contact += f'<a class="tel" href="{html.escape(ad.tel_link)}">Bel mij</a> '
    if ad.whatsapp:
        contact += f'<a class="wa" href="{html.escape(ad.whatsapp)}">WhatsApp</a>'
    body = (
        f'<div class="ad" data-ad-id="{ad.id}"><h1 class="ad-title">{html.escape(ad.title)}</h1>'
        f'<ul class="ad-meta"><li class="ad-city">{html.escape(ad.city)}</li>'
        f'<li class="ad-category">{ad.category}</li></ul>'
        f'<div class="ad-text"><p>{html.escape(ad.text)}</p></div><div class="ad-contact">{contact}</div></div>'
    )
    return _page(ad.title, body, ad.language)


@dataclass
class Fault:
    """A fault switch: the next `times` requests whose path starts with `path_prefix` get `kind` instead.

    kinds: "429" and "503" (with `retry_after` if given), "500" (a server error), "slow" (answer after `seconds`),
    "malformed" (broken HTML), "huge" (`size` bytes of HTML), "binary" (random bytes served as HTML),
    "wrong_encoding" (declared UTF-8, written in Windows-1252).
    """

    kind: str
    path_prefix: str = "/"
    times: int = 1
    retry_after: str | None = None
    seconds: float = 0.0
    size: int = 10 * 1024 * 1024


def _malformed(body: bytes) -> bytes:
    """Cut off in the middle and with unclosed tags, the way a half-deployed template looks."""
    return body[: len(body) // 2] + b'<div><p><span class="ad-text"><<<>>\xff\xfe'


@dataclass(frozen=True)
class LoggedRequest:
    at: float
    method: str
    path: str
    status: int
    user_agent: str


@dataclass(frozen=True)
class Visit:
    """One request as a layout sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    cookies: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case

    def page(self) -> int:
        text = self.query.get("page", ["1"])[0]
        return int(text) if text.isdigit() else 0


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def not_found() -> Answer:
    return Answer(404, _page("Niet gevonden", "<p>Niet gevonden</p>"))


def kinky_answer(site: FixtureSite, visit: Visit) -> Answer | None:
    """The Kinky.nl-like layout: server-rendered listing pages with pagination, one detail page per advert."""
    if visit.path in ("/", "/advertenties"):
        listing = render_listing(site.listed(), visit.page(), site.pagination_trap)
        if listing is None:
            return None
        if site.markup_change == "cards_renamed":
            listing = listing.replace(b'class="ad-card"', b'class="tile"')
        return Answer(200, listing)
    ad = site.by_path.get(visit.path)
    if ad is None or ad.id in site.hidden:
        return None
    return Answer(200, render_detail(ad, site.markup_change == "numbers_hidden"))


class FixtureSiteHandler(QuietHandler):
    world: FixtureSite

    def do_GET(self) -> None:
        self.serve()

    def do_POST(self) -> None:
        self.serve()

    def serve(self) -> None:
        site = self.world
        arrived = time.monotonic()
        url = urlparse(self.path)
        form: dict[str, str] = {}
        if self.command == "POST":
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
            form = {key: values[0] for key, values in parse_qs(raw).items()}
        cookies = {name: morsel.value for name, morsel in SimpleCookie(self.headers.get("Cookie", "")).items()}
        headers = {name.lower(): value for name, value in self.headers.items()}
        visit = Visit(self.command, url.path, parse_qs(url.query), cookies, form, headers)
        if url.path == "/robots.txt":
            answer: Answer | None = Answer(200, site.robots_txt().encode(), "text/plain")
        else:
            answer = site.layout_answer(site, visit)
        answer = answer or not_found()
        status, body, headers = answer.status, answer.body, answer.headers
        fault = site.take_fault(url.path)
        if fault is not None:
            status, body, headers = self.apply_fault(fault, status, body)
        logged = LoggedRequest(arrived, self.command, self.path, status, self.headers.get("User-Agent", ""))
        site.log(logged)
        if site.on_request is not None:
            site.on_request(logged)  # before the answer leaves: a test may kill the crawler here
        # The crawler may give up waiting (download timeout, size limit): that is what the faults test.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_body(status, body, answer.content_type, headers)

    do_HEAD = do_GET

    @staticmethod
    def apply_fault(fault: Fault, status: int, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        if fault.kind in ("429", "503"):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return int(fault.kind), _page("Even geduld", "<p>Te veel verzoeken</p>"), headers
        if fault.kind == "500":
            return 500, _page("Serverfout", "<p>Er ging iets mis</p>"), {}
        if fault.kind == "slow":
            time.sleep(fault.seconds)
            return status, body, {}
        if fault.kind == "malformed":
            return status, _malformed(body), {}
        if fault.kind == "huge":
            filler = b"<p>" + b"lorem ipsum " * 1000 + b"</p>"
            return status, body[:-14] + filler * (fault.size // len(filler) + 1) + b"</body></html>", {}
        if fault.kind == "wrong_encoding":  # declared UTF-8, written in Windows-1252
            return status, body.decode("utf-8").encode("cp1252", "replace"), {}
        if fault.kind == "binary":
            return status, random.Random(len(body)).randbytes(64 * 1024), {}
        raise ValueError(f"unknown fault kind {fault.kind!r}")


class FixtureSite(BackgroundServer):
    handler_class = FixtureSiteHandler

    def __init__(self, seed: int = 1, count: int = 300, port: int = 0, layout: str = "kinky") -> None:
        """layout: "kinky" (server-rendered, paginated), "js" (rendered by JavaScript from a JSON API, with an
        age gate accepted by a click), "profiles" (profile cards for men and trans advertisers, an age gate
        form, the number behind a "show number" button) or "appdata" (a JavaScript app whose data sits in JSON
        script blocks, behind a consent link, the number behind a POST with a CSRF token)."""
        super().__init__(port)
        from testworld import appdata_layout, js_layout, profile_layout  # they build on this module

        answers = {
            "kinky": kinky_answer,
            "js": js_layout.answer,
            "profiles": profile_layout.answer,
            "appdata": appdata_layout.answer,
        }
        self.layout = layout
        self.layout_answer = answers[layout]
        self.generated = generate(seed, count)
        if layout == "profiles":
            profile_layout.adapt(self.generated, seed)
        if layout == "appdata":
            appdata_layout.adapt(self.generated)
        self.by_path = {ad.path: ad for ad in self.generated.adverts}
        self.by_id = {ad.id: ad for ad in self.generated.adverts}
        self.requests: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.crawl_delay: float | None = None
        self.disallow: list[str] = [appdata_layout.STATS_PATH] if layout == "appdata" else []  # robots.txt
        self.pagination_trap: str | None = None  # "loop" (last page links to page 1) or "endless"
        self.hidden: set[str] = set()  # advert ids not (or no longer) published
        self._held_back: list[str] = []  # not yet published, in listing order: `turn_over` publishes the last
        self._turns = 0
        self.markup_change: str | None = None  # "cards_renamed" (listing) or "numbers_hidden" (detail pages)
        self.on_request: Callable[[LoggedRequest], None] | None = None
        self.csrf_tokens: dict[str, str] = {}  # appdata: token -> the advert id whose page issued it
        self._lock = threading.Lock()

    def listed(self) -> list[GeneratedAdvert]:
        """Published adverts in listing order (the generated order: the first ones are the newest)."""
        return [ad for ad in self.generated.adverts if ad.id not in self.hidden]

    def hide(self, *ad_ids: str) -> None:
        """Withdraw adverts: gone from the listing, their detail pages answer 404."""
        self.hidden.update(ad_ids)

    def publish(self, *ad_ids: str) -> None:
        self.hidden.difference_update(ad_ids)

    def hold_back(self, count: int) -> None:
        """The newest `count` adverts are not published yet: `turn_over` brings them out, newest last."""
        self._held_back = [ad.id for ad in self.generated.adverts[:count]]
        self.hide(*self._held_back)

    def turn_over(self, new: int, gone: int, seed: int = 0) -> tuple[list[str], list[str]]:
        """The site a while later: the next `new` held-back adverts appear at the top of the listing and `gone`
        listed ones, drawn at random (seeded), are withdrawn. Returns (appeared ids, withdrawn ids); fewer
        appear once nothing is held back any more."""
        appeared = self._held_back[max(len(self._held_back) - new, 0) :]
        del self._held_back[len(self._held_back) - len(appeared) :]
        self.publish(*appeared)
        listed = [ad.id for ad in self.listed() if ad.id not in appeared]
        self._turns += 1
        withdrawn = random.Random(f"{seed}:{self._turns}").sample(listed, min(gone, len(listed)))
        self.hide(*withdrawn)
        return appeared, withdrawn

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and path.startswith(fault.path_prefix):
                    fault.times -= 1
                    return fault
        return None

    def robots_txt(self) -> str:
        lines = ["User-agent: *", "Disallow: /account/", *(f"Disallow: {path}" for path in self.disallow)]
        if self.crawl_delay is not None:
            lines.append(f"Crawl-delay: {self.crawl_delay}")
        return "\n".join(lines) + "\n"

    def requests_to(self, prefix: str = "/") -> list[LoggedRequest]:
        with self._lock:
            return [request for request in self.requests if request.path.startswith(prefix)]

    def log(self, request: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def write_site_file(self, folder: Path, name: str = "fixture", **overrides: Any) -> Path:
        """The site definition pointed at this server, as a fieldworker would write it; `overrides` replace
        top-level fields and are merged into nested ones (`rate_limit={"requests_per_second": 5}`)."""
        definition = yaml.safe_load(SITE_FILES[self.layout].read_text(encoding="utf-8"))
        definition.update(name=name, base_url=self.url)
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(definition.get(key), dict):
                definition[key] = {**definition[key], **value}
            else:
                definition[key] = value
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
        return path

    def write_ground_truth(self, path: Path) -> Path:
        path.write_text(json.dumps(self.generated.ground_truth(), indent=1, ensure_ascii=False), encoding="utf-8")
        return path
