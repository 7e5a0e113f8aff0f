"""The dashboard's catalogs are complete: every text a dashboard user reads is marked for translation, every marked
text has its Dutch translation with the same placeholders, and the catalogs compile.

A text that is not marked (plain words in a template, a literal message handed to an error page) fails here, as
does a marked text that `make translations-update` has not merged into the Dutch catalog or nobody translated.
"""

from __future__ import annotations

import ast
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

from outreach.errors import ConfigError
from outreach.web import i18n

ROOT = Path(__file__).resolve().parent.parent
CATALOG = i18n.LOCALE_DIR / "nl" / "LC_MESSAGES" / "messages.po"
# Attributes whose text people read (or hear, through a screen reader).
READ_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt"}
# Words that are the same in every language the dashboard speaks: the product's name.
SAME_EVERYWHERE = {"Outreach"}
# Calls that show their first argument to a dashboard user.
SHOWN = {"HTTPProblem": 1, "problem": 3, "translate": 2, "_form": 1}


class _ReadText(HTMLParser):
    """The words of an HTML page that people read: text between tags, and the attributes of READ_ATTRIBUTES."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []

    def _words(self, text: str) -> None:
        self.words += [word for word in re.findall(r"[^\W\d_]{2,}", text) if word not in SAME_EVERYWHERE]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self._words(value)

    def handle_data(self, data: str) -> None:
        self._words(data)


def untranslated_template_text(source: str) -> list[str]:
    """Words in a template's own markup that do not go through _() / ngettext. Every Jinja construct ({{ }}, {% %},
    {# #}) is replaced by a NUL before the HTML is read, so what is left is only what the template says itself."""
    html = []
    lexer = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # only its lexer is used
    for _line, kind, value in lexer.lex(source):
        html.append(value if kind == "data" else " \0 ")
    reader = _ReadText()
    reader.feed("".join(html))
    reader.close()
    return reader.words


def literal_messages(source: str) -> list[str]:
    """String literals handed straight to a call that shows its message: they would never be translated."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        position = SHOWN.get(name)
        if position is None or len(node.args) <= position:
            continue
        message = node.args[position]
        if isinstance(message, ast.Constant | ast.JoinedStr):
            found.append(ast.unparse(message))
    return found


def test_the_checkers_find_unmarked_text() -> None:
    """Proof that the two checks below can fail."""
    assert untranslated_template_text('<p>Hello</p><a title="Go on">{{ _("Fine") }}</a>') == ["Hello", "Go", "on"]
    assert untranslated_template_text('<p>{{ _("Fine") }} {{ count }}</p><a title="{{ _(\'x\') }}">1</a>') == []
    snippet = (
        'raise HTTPProblem(404, "No such thing.")\nraise HTTPProblem(404, N_("Fine."))\nx.problem(r, u, 400, f"{a}")'
    )
    assert literal_messages(snippet) == ["'No such thing.'", "f'{a}'"]


def test_every_template_text_is_marked_for_translation() -> None:
    unmarked = {
        path.name: words
        for path in sorted(i18n.TEMPLATES.glob("*.html"))
        if (words := untranslated_template_text(path.read_text(encoding="utf-8")))
    }
    assert unmarked == {}, "wrap these in {{ _(...) }}, then `make translations-update` and translate"


def test_no_literal_message_reaches_a_dashboard_page() -> None:
    literal = {
        str(path.relative_to(ROOT)): found
        for path in sorted((ROOT / "outreach" / "web").rglob("*.py"))
        if (found := literal_messages(path.read_text(encoding="utf-8")))
    }
    assert literal == {}, "mark these with N_() (outreach.errors) so the dashboard can translate them"


class _AnyValue(dict[str, object]):
    def __missing__(self, key: str) -> object:
        return 1


def test_every_template_text_formats() -> None:
    """Jinja's newstyle gettext %-formats every template text, so a bare % ("95% interval") fails the page: write
    %% for a percent sign."""
    broken = []
    for key, (ids, filename) in _marked_texts_with_files().items():
        if not filename.endswith(".html"):
            continue
        for text in ids:
            try:
                text % _AnyValue()
            except (TypeError, ValueError) as exc:
                broken.append(f"{key!r}: {exc}")
    assert broken == []


def _marked_texts() -> dict[str, tuple[str, ...]]:
    return {key: ids for key, (ids, _filename) in _marked_texts_with_files().items()}


def _marked_texts_with_files() -> dict[str, tuple[tuple[str, ...], str]]:
    """Every text Babel extracts as `make translations-update` does (babel.cfg, keyword N_ as well as _)."""
    config = io.StringIO((ROOT / "babel.cfg").read_text(encoding="utf-8"))
    method_map, options_map = parse_mapping_cfg(config)  # type: ignore[no-untyped-call]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    texts: dict[str, tuple[tuple[str, ...], str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        ids = message if isinstance(message, tuple) else (message,)
        texts[ids[0]] = (ids, filename)
    return texts


def test_every_marked_text_has_its_dutch_translation() -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="nl")
    marked = _marked_texts()
    assert len(marked) > 150  # the extraction found the dashboard, not nothing
    missing, fuzzy, empty = [], [], []
    for key, ids in marked.items():
        entry = catalog.get(ids if len(ids) > 1 else key)
        if entry is None:
            entry = catalog.get(key)
        if entry is None:
            missing.append(key)
        elif entry.fuzzy:
            fuzzy.append(key)
        elif not (all(entry.string) if isinstance(entry.string, tuple | list) else entry.string):
            empty.append(key)
    assert (missing, fuzzy, empty) == ([], [], []), "run `make translations-update` and translate messages.po"


def test_the_dutch_catalog_compiles_with_the_same_placeholders() -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="nl")
    problems = [(message.id, [str(error) for error in errors]) for message, errors in catalog.check()]
    assert problems == []  # babel's python-format checker: %(name)s the same in msgid and msgstr
    for message in catalog:
        if message.id:
            source = message.id if isinstance(message.id, str) else " ".join(message.id)
            target = message.string if isinstance(message.string, str) else " ".join(message.string or ())
            assert set(re.findall(r"%\(\w+\)\w", source)) == set(re.findall(r"%\(\w+\)\w", target)), message.id
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert len(compiled.getvalue()) > 1000


def test_the_installed_catalog_is_compiled_from_the_current_po() -> None:
    """`make install` compiles the catalogs; a .mo older than its .po means a stale Dutch dashboard."""
    compiled = CATALOG.with_suffix(".mo")
    assert compiled.is_file(), "run `make translations`"
    assert compiled.stat().st_mtime >= CATALOG.stat().st_mtime, "run `make translations`"
    assert i18n.translations("nl").gettext("Overview") == "Overzicht"


def test_a_missing_compiled_catalog_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    i18n.translations.cache_clear()
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    try:
        with pytest.raises(ConfigError, match="make translations"):
            i18n.translations("nl")
    finally:
        i18n.translations.cache_clear()
