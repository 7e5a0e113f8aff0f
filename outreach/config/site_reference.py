"""docs/sites.md, generated from the site-file model (crawler/sites.py) so the reference cannot drift from the code.

`outreach site reference > docs/sites.md` writes it; tests/test_site_reference.py fails when the committed file
differs, when a field has no description, and when a worked example below is not a valid site file.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, HttpUrl
from pydantic.fields import FieldInfo

import crawler.health
from crawler.sites import Pick, SiteDefinition
from outreach.config.reference import bounds

# Worked examples, one per pattern: (title, when to use it, the part of a site file). Each is checked by the test
# as a complete site file (with name, base_url, start_paths and the rest filled in where it leaves them out).
PATTERNS: list[tuple[str, str, str]] = [
    (
        "A server-rendered site (cards, a next link)",
        "The adverts are in the HTML: one card per advert on listing pages, a detail page per advert.",
        """\
listing:
  advert_card: "article.ad-card"           # one advert on a listing page (its text is compared between crawls)
  advert_link: "a.ad-link"                 # inside the card; a plain selector takes the href
  next_page: "nav a.next"
detail:
  ad_id: "div.ad::attr(data-ad-id)"
  title: "h1.ad-title::text"
  text: "div.ad-text ::text"
  city: "li.ad-city::text"
  category: "li.ad-category::text"
""",
    ),
    (
        "Gate by a form (POST)",
        "An age gate whose form posts and sets a cookie; the crawl posts it once, then crawls as usual.",
        """\
gate:
  form_url: /gate                          # a path on the site or a full URL
  form_data: {confirm: "yes"}
""",
    ),
    (
        "Gate by a link or a GET form",
        "Accepting is a plain link (`/toegang?akkoord=1`) or a form with method GET: fields go in the query.",
        """\
gate:
  form_url: /toegang
  method: GET
  form_data: {akkoord: "1"}
""",
    ),
    (
        "Gate by cookies",
        "When you know the cookie the gate sets. Sent with every request; on browser sites set on the browser's "
        "context.",
        """\
gate:
  cookies: {adult_ok: "1"}
""",
    ),
    (
        "Gate by a click (browser sites)",
        "A consent wall that only JavaScript removes.",
        """\
needs_browser: true
browser: {listing_ready: "p.rendered", detail_ready: "p.rendered"}
gate:
  click: "button#enter"
""",
    ),
    (
        "Reveal by HTML",
        'A "show number" button whose URL is on the detail page; the answer is HTML with the number in it (its '
        "text, tel: and wa.me links are searched).",
        """\
detail:
  ad_id: "section.profile::attr(data-profile-id)"
  title: "h2.name::text"
  text: "div.about ::text"
  reveal_number:
    request_url: "button.show-number::attr(data-number-url)"
""",
    ),
    (
        "Reveal by JSON",
        'The button loads `{"nummer": "06 ..."}`: name the field with a JMESPath expression.',
        """\
detail:
  ad_id: "div.ad::attr(data-id)"
  title: "h1::text"
  text: "div.text ::text"
  reveal_number:
    request_url: "button.reveal::attr(data-url)"
    number: {json: nummer}
""",
    ),
    (
        "Reveal by POST with a CSRF token",
        "The button posts the advert's id with a token the detail page carries in a meta tag; the URL is fixed, so "
        "it is a `value`. A plain-text answer needs no `number`: the whole answer is searched.",
        """\
detail:
  ad_id: {url: "/advertentie/[a-z0-9-]+-(\\\\d+)$"}    # the id only in the URL
  title: {json: props.pageProps.advert.title}
  text: {json: props.pageProps.advert.text}
  reveal_number:
    request_url: {value: /api/nummer}
    method: POST
    form:
      advert: {value: "{ad_id}"}
      _token: {css: "meta[name=csrf-token]::attr(content)"}
    headers:
      X-CSRF-Token: {css: "meta[name=csrf-token]::attr(content)"}
    number: {json: nummer}
""",
    ),
    (
        "Reveal by a click (browser sites)",
        "The number appears on the page after a click; `number` says where, so it is searched and never stored "
        "as advert text.",
        """\
needs_browser: true
browser: {listing_ready: "p.rendered", detail_ready: "p.rendered"}
detail:
  ad_id: "div.ad::attr(data-ad-id)"
  title: "h1.title::text"
  text: "div.text ::text"
  reveal_number:
    click: "button.reveal"
    wait_for: "p.number-shown"
    number: "p.number-shown ::text"
""",
    ),
    (
        "A JavaScript site without the browser",
        'Frameworks (Next.js, Nuxt) render the page\'s data into a `<script type="application/json">` block. Read '
        'it with JMESPath: no browser, a fraction of the requests. Pagination by a "load more" parameter.',
        """\
listing:
  json_script: "script#__NEXT_DATA__::text"
  json_entries: props.pageProps.adverts     # the list of adverts in that JSON
  advert_link: {json: slug}                 # inside one entry
  link_format: "/advertentie/{}"
  page_parameter: {name: offset, start: 0, step: 24}
detail:
  json_script: "script#__NEXT_DATA__::text"
  ad_id: {json: props.pageProps.advert.id}
  title: {json: props.pageProps.advert.title}
  text: {json: props.pageProps.advert.text}
  city: {json: props.pageProps.advert.city}
""",
    ),
    (
        "A JavaScript site through the browser",
        "Only when the data is in no HTML or JSON the site sends. Every request the page makes to the site is paced "
        "like the crawl's own; images, fonts, media and other hosts are never fetched.",
        """\
needs_browser: true
browser:
  listing_ready: "p.rendered"
  detail_ready: "p.rendered"
listing:
  advert_card: "article.card"
  advert_link: "a.link"
  next_page: "a.next"
detail:
  ad_id: "div.ad::attr(data-ad-id)"
  title: "h1.title::text"
  text: "div.text ::text"
""",
    ),
    (
        "Part of a value, or the id from the URL",
        "`regex` keeps the first group of what was found (`ad-50000` -> `50000`); `url` reads the page's address.",
        """\
detail:
  ad_id: {css: "div.ad::attr(id)", regex: "ad-(\\\\d+)"}
  title: "h1::text"
  text: {css: "div.text ::text"}
  city: {css: "li.place::text", regex: "^(?:Regio )?(.+)$"}
""",
    ),
    (
        "WhatsApp without a wa.me link",
        "An icon or a word says the advertiser uses WhatsApp: the advert's numbers are flagged.",
        """\
detail:
  ad_id: "div.ad::attr(data-id)"
  title: "h1::text"
  text: "div.text ::text"
  whatsapp: "span.icon-whatsapp"
  whatsapp_words: [whatsapp, "app me"]
""",
    ),
    (
        "Incremental recrawls",
        "The defaults suit a site crawled hourly. A site whose cards do not change when the advert does needs a "
        "shorter `refresh_days`.",
        """\
incremental:
  enabled: true
  refresh_days: 2          # fetch an unchanged advert's page again after 2 days
  full_walk_hours: 24      # walk to the listing's end once a day (only then are unlisted adverts marked gone)
""",
    ),
]

_MINIMAL = {
    "name": "example",
    "base_url": "https://ads.example.org",
    "start_paths": ["/advertenties?page=1"],
    "listing": {"advert_link": "a.ad-link"},
    "detail": {"ad_id": "div.ad::attr(data-id)", "title": "h1::text", "text": "div.text ::text"},
}


def pattern_site(snippet: str) -> dict[str, Any]:
    """A worked example as a complete site file: the snippet over a minimal one (sections merged)."""
    data: dict[str, Any] = json.loads(json.dumps(_MINIMAL))
    for key, value in (yaml.safe_load(snippet) or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict) and key != "detail":
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def fields(model: type[BaseModel] = SiteDefinition, prefix: str = "") -> Iterator[tuple[str, str, FieldInfo]]:
    """(section, dotted name, field) for every field, a section per nested model, depth first."""
    section = prefix or "site"
    nested = []
    for name, info in model.model_fields.items():
        shown = info.alias or name
        inner = _model_of(info.annotation)
        if inner is not None and inner is not Pick:
            nested.append((shown, inner))
        yield section, f"{prefix}.{shown}" if prefix else shown, info
    for name, inner in nested:
        yield from fields(inner, f"{prefix}.{name}" if prefix else name)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return "one of: " + ", ".join(str(arg) for arg in args)
    if origin in (Union, types.UnionType):
        names = [type_name(arg) for arg in args if arg is not type(None)]
        return " or ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"mapping of {type_name(args[0])} to {type_name(args[1])}"
    if annotation is Pick:
        return "pick (a CSS string, or {css, json, url or value; regex})"
    if annotation is HttpUrl:
        return "URL"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section (below)"
    return str(getattr(annotation, "__name__", annotation))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "the section's defaults"
    if value is None:
        return "none"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _example(info: FieldInfo) -> str:
    if info.examples:
        return f"`{json.dumps(info.examples[0], ensure_ascii=False)}`"
    return ""


def render() -> str:
    lines = [
        "# Site files",
        "",
        "<!-- Generated by `outreach site reference > docs/sites.md`; edit crawler/sites.py (Field descriptions)",
        "and outreach/config/site_reference.py (the worked examples) instead. tests/test_site_reference.py fails",
        "when this file differs, and checks every worked example below as a site file. -->",
        "",
        "One YAML file per ad site in `sites_dir` (default `config/sites/`). Adding a site is adding a file:",
        "",
        "1. Copy `config/sites/example.yaml` to `config/sites/<name>.yaml`; read the site's terms and robots.txt.",
        "2. Write the selectors, using the patterns below. Open the site in a browser's developer tools: the",
        "   selectors are CSS as Scrapy reads it (`::text`, `::attr(name)`), JMESPath for JSON.",
        "3. `outreach site try config/sites/<name>.yaml --pages 2` fetches a few pages politely and shows, per",
        "   advert, what each field found (numbers masked), which fields found nothing, and what would be stored.",
        "   It stores nothing. Repeat until every field finds what you expect.",
        "4. `outreach crawl --site <name>`, then `outreach crawl --stats`: the run's health must be `ok`.",
        "",
        "A mistake in the file is reported with the file, the field and what is wrong; an unknown key is named",
        'with the closest known one: `listings:` gets "unknown key; did you mean `listing`?".',
        "",
        "## When a crawl is not ok",
        "",
        "Every site's crawl is `ok`, `degraded` or `failed`. `outreach crawl` prints the reasons with the first",
        "URL each happened on and exits 1 when a site failed, 3 when one is degraded; `outreach status`, the",
        "dashboard's overview and a supervisor's notification (`notify:`) say the same. Adverts whose page could",
        "not be fetched after the retries are listed in `outreach crawl --stats` and fetched again next run.",
        "",
        *_health_rules(),
        "",
        "## Patterns",
        "",
    ]
    for title, when, snippet in PATTERNS:
        lines += [f"### {title}", "", when, "", "```yaml", snippet.rstrip("\n"), "```", ""]
    lines += [
        "## Every field",
        "",
        "A *pick* says where one value comes from: a plain string is a CSS selector; a mapping gives exactly one",
        "of `css`, `json` (JMESPath into the page's JSON: the answer itself when it is JSON, else the page's",
        "JSON script block), `url` (a regular expression on the page's URL) or `value` (fixed text, `{ad_id}`",
        "replaced), and optionally `regex` to keep part of what was found (its first group).",
        "",
    ]
    section = None
    for where, name, info in fields():
        if where != section:
            if section is not None:
                lines.append("")
            section = where
            lines += [f"### `{section}`" if section != "site" else "### The site", ""]
            lines += ["| field | type | default | what it says | example |", "| --- | --- | --- | --- | --- |"]
        kind = type_name(info.annotation)
        limits = bounds(info)
        cells = [
            f"`{name}`",
            kind + (f" ({limits})" if limits else ""),
            _default(info),
            (info.description or "").replace("|", "\\|"),
            _example(info),
        ]
        lines.append("| " + " | ".join(cell.replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines).rstrip("\n") + "\n"


def _health_rules() -> list[str]:
    """The rules as crawler/health.py states them (its docstring), with its thresholds."""
    doc = (crawler.health.__doc__ or "").split("\n\n", 2)[-1].strip()
    thresholds = (
        f"Thresholds: LOSS_SHARE {crawler.health.LOSS_SHARE:.0%}, FIELD_DROP {crawler.health.FIELD_DROP:.0%}, "
        f"REVEAL_FAILURE_SHARE {crawler.health.REVEAL_FAILURE_SHARE:.0%}, MIN_ADVERTS {crawler.health.MIN_ADVERTS}."
    )
    return [*doc.splitlines(), "", thresholds]


if __name__ == "__main__":
    print(render(), end="")
