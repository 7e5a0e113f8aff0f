"""Reading a site file's Picks off one page: CSS on HTML, JMESPath on JSON (the answer itself, or the JSON script
block a JavaScript framework renders into the HTML), a regular expression on the URL, or a fixed value.

A page is read as what it is: a JSON answer is never handed to a CSS selector (Scrapy would raise "Cannot use css
on a Selector of type 'json'" and the advert would be lost), plain text is text. A Pick that cannot apply to the
page gives no value; the spider counts what matched nothing.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any

import jmespath
from scrapy.http import Response, TextResponse

from crawler.sites import Pick

JSON_TYPES = ("application/json", "application/ld+json", "text/json", "+json")


def _join(parts: list[str]) -> str:
    return " ".join(" ".join(parts).split())


def _strings(found: Any) -> list[str]:
    """JMESPath results as texts: lists flattened, nulls dropped, objects as their JSON."""
    if found is None:
        return []
    if isinstance(found, list):
        return [text for item in found for text in _strings(item)]
    if isinstance(found, dict):
        return [json.dumps(found, ensure_ascii=False, sort_keys=True)]
    if isinstance(found, bool):
        return [str(found).lower()]
    return [str(found)]


def keep_part(values: list[str], pattern: str | None) -> list[str]:
    """`regex`: the first group of each match (the whole match without groups); values that do not match go."""
    if pattern is None:
        return values
    compiled = re.compile(pattern)
    kept = []
    for value in values:
        match = compiled.search(value)
        if match is not None:
            kept.append(match.group(1) if compiled.groups else match.group(0))
    return kept


def search_json(expression: str, document: Any) -> list[str]:
    return _strings(jmespath.search(expression, document))


class Page:
    """One response, read as HTML, JSON or text, with its JSON document found once."""

    def __init__(self, response: Response, json_script: str = "script[type='application/json']::text") -> None:
        self.response = response
        self.json_script = json_script

    @cached_property
    def kind(self) -> str:
        """ "json", "html" or "text" (also for a binary answer, which then reads as empty)."""
        if not isinstance(self.response, TextResponse):
            return "text"
        content_type = (self.response.headers.get("Content-Type") or b"").decode("latin-1").lower()
        if any(kind in content_type for kind in JSON_TYPES):
            return "json"
        if "html" in content_type or "xml" in content_type:
            return "html"
        head = self.response.text.lstrip()[:1]
        if head in ("{", "[") and self._parsed(self.response.text) is not None:
            return "json"
        return "html" if head == "<" else "text"

    @property
    def text(self) -> str:
        """The whole page as text: HTML's visible text, a JSON answer's values, plain text as it is."""
        if self.kind == "html":
            return _join(self.response.css("body ::text").getall() or self.response.css("::text").getall())
        if self.kind == "json":
            return _join(_strings(self._flatten(self.document)))
        return self.response.text if isinstance(self.response, TextResponse) else ""

    @cached_property
    def document(self) -> Any:
        """The page's JSON: the answer itself, or its JSON script block; None when there is none."""
        if self.kind == "json":
            return self._parsed(self.response.text if isinstance(self.response, TextResponse) else "")
        if self.kind == "html":
            block = self.response.css(self.json_script).get()
            return self._parsed(block) if block else None
        return None

    def values(self, pick: Pick, ad_id: str = "") -> list[str]:
        """Every value the Pick finds on this page (after its regex)."""
        found: list[str]
        if pick.css is not None:
            found = self.response.css(pick.css).getall() if self.kind == "html" else []
        elif pick.json_path is not None:
            found = search_json(pick.json_path, self.document) if self.document is not None else []
        elif pick.url is not None:
            found = keep_part([self.response.url], pick.url)
        else:
            found = [(pick.value or "").replace("{ad_id}", ad_id)]
        return [value for value in keep_part(found, pick.regex) if value.strip()]

    def joined(self, pick: Pick | None, ad_id: str = "") -> str:
        return _join(self.values(pick, ad_id)) if pick is not None else ""

    def first(self, pick: Pick, ad_id: str = "") -> str:
        values = self.values(pick, ad_id)
        return values[0].strip() if values else ""

    def links(self, css: str) -> list[str]:
        return self.response.css(css).getall() if self.kind == "html" else []

    @staticmethod
    def _parsed(text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            return None

    @classmethod
    def _flatten(cls, document: Any) -> list[Any]:
        if isinstance(document, dict):
            return [leaf for value in document.values() for leaf in cls._flatten(value)]
        if isinstance(document, list):
            return [leaf for value in document for leaf in cls._flatten(value)]
        return [document]


def entry_values(pick: Pick, entry: Any) -> list[str]:
    """A Pick inside one JSON listing entry (its `json` is relative to the entry)."""
    found = search_json(pick.json_path, entry) if pick.json_path is not None else []
    return [value for value in keep_part(found, pick.regex) if value.strip()]
