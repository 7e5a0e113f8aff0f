"""The dashboard's languages: gettext catalogs (Babel) for Dutch, English as the source language, and one Jinja2
environment per language with the i18n extension and the filters that format times and numbers for it.

Catalogs live in outreach/web/locale/<lang>/LC_MESSAGES/messages.po and are compiled to .mo by `make install`
(`make translations`); `make translations-update` extracts new strings from the templates and the Python code
(`_()` and `N_()`, see babel.cfg) and merges them into the catalogs. tests/test_translations.py fails on a string
that is not marked, or marked but not translated into Dutch.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from outreach.access.masking import mask
from outreach.errors import ConfigError
from outreach.support import local_time
from outreach.web.labels import LABELS

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
TEMPLATES = Path(__file__).resolve().parent / "templates"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
# Each language's own name, as the language choice shows it.
LANGUAGES = {"nl": "Nederlands", "en": "English"}


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language`; English is the source language and needs none."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    compiled = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not compiled.is_file():
        raise ConfigError(
            f"the dashboard's {LANGUAGES.get(language, language)} catalog is not compiled ({compiled}): "
            "run `make translations` (pybabel compile -d outreach/web/locale)"
        )
    with compiled.open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


def environment(language: str, zone: str) -> Environment:
    """A Jinja2 environment whose `_`, `gettext` and `ngettext` speak `language`, with the time filters in `zone`."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["dashboard_language"] = language
    env.globals["dashboard_languages"] = LANGUAGES
    env.filters.update(filters(language, zone))
    return env


def filters(language: str, zone: str) -> dict[str, Callable[..., Any]]:
    catalog = translations(language)
    return {
        "mask": lambda number: mask(number) if number else "-",
        # a stored code (status, kind) as people read it; an unknown code as it is
        "label": lambda code: catalog.gettext(LABELS[code]) if code in LABELS else code,
        # 'ma 30 nov 10:12'; the <time> element's datetime attribute keeps ISO 8601 (see templates/macros.html)
        "when": lambda value: local_time.short(value, zone, language),
        "when_day": lambda day: format_date(local_time.day_of(day, zone), "EEE d MMM", locale=language),
        # '30 november 2026' (the quarterly report's period)
        "when_long": lambda day: format_date(local_time.day_of(day, zone), "d MMMM y", locale=language),
        "ago": lambda value: local_time.ago(value, language),
        "waited": lambda value: local_time.waited(value, language),
        "iso": lambda value: local_time.as_datetime(value).isoformat(timespec="seconds") if value else "",
        "number": lambda value: format_decimal(value, locale=language),
        "percent": lambda value: "-" if value is None else format_percent(value, locale=language),
        # a template language as people read it: 'ro' -> 'Roemeens (ro)', 'nl-en' -> 'Nederlands + Engels (nl-en)'
        "language_name": lambda code: language_name(code, language),
    }


def language_name(code: str, language: str) -> str:
    """A message language's name in the dashboard's `language`, its code after it (an unknown code as it is)."""
    names = Locale.parse(language).languages
    parts = [names.get(part) for part in code.split("-")]
    if not all(parts):
        return code
    return f"{' + '.join(str(part) for part in parts)} ({code})"


def translate(language: str, message: str, params: dict[str, Any] | None = None) -> str:
    """A message marked with `N_()` elsewhere (an error, a refusal), in `language`, with its %(name)s filled in."""
    text = translations(language).gettext(message)
    return text % params if params else text
