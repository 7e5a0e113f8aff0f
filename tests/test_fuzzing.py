"""Fuzzing with hypothesis: whatever an advert page, an inbound SMS or a blocklist file holds, the code that reads
it does not crash, finds only valid numbers, leaves none in the text it stores, and explains a bad file in one
line that names the line. Examples are kept modest (the suite stays fast) and reproducible (derandomized)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scrapy.http import HtmlResponse

from crawler.items import RawAdvert
from crawler.phones import PhonePolicy, phone_from_link, scan_phones, scrub_numbers
from crawler.pipelines import ExtractPipeline
from crawler.sites import load_site
from crawler.spiders.generic import GenericAdSpider
from messaging.intents import OPT_OUT_WORDS, Intent, classify
from outreach.cli import run
from outreach.errors import UsageError
from outreach.people import blocklist
from outreach.store.db import upgrade
from tests.conftest import make_settings
from tests.messaging_world import config_file
from testworld.fixture_site import SITE_FILES

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# Pieces adverts are made of: numbers written the many ways people write them, separators, words, markup.
NUMBER_LIKE = st.one_of(
    st.from_regex(r"\+?(00)?3[1-4][ .\-]?\(?0?\)?6[ .\-]?\d{2}[ .\-]?\d{2}[ .\-]?\d{2}[ .\-]?\d{2}", fullmatch=True),
    st.from_regex(r"0[1-9][ .\-/]?\d{1,4}[ .\-]?\d{2,4}[ .\-]?\d{0,4}", fullmatch=True),
    st.from_regex(r"\+\d{1,3}[ ]?\d{2,12}", fullmatch=True),
    st.text(alphabet="0123456789 -+().O", min_size=1, max_size=25),
)
WORDS = st.sampled_from(["bel", "me", "op", "WhatsApp", "tel", "nul zes", "06", "call", "sms", "€", "24/7", "⓪⑥"])
TEXT = st.lists(st.one_of(NUMBER_LIKE, WORDS, st.text(max_size=12)), max_size=20).map(" ".join)


POLICY = PhonePolicy("NL", frozenset({"NL", "RO", "PL", "ES"}))
SITE = load_site(SITE_FILES["kinky"])


@FUZZ
@given(TEXT)
def test_advert_text_gives_only_valid_numbers_and_none_survive_scrubbing(text: str) -> None:
    found = scan_phones(text, "NL")
    event(f"numbers found: {min(len(found.phones), 2)}")
    for phone in found.phones:
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone.e164)), phone
    scrubbed = scrub_numbers(text, "NL")
    assert scan_phones(scrubbed, "NL").phones == [], scrubbed


@FUZZ
@given(st.one_of(st.text(max_size=60), NUMBER_LIKE.map(lambda n: "tel:" + n), TEXT.map(lambda t: "https://wa.me/" + t)))
def test_phone_links_never_crash_and_give_valid_numbers_or_nothing(href: str) -> None:
    phone = phone_from_link(href, "NL")
    assert phone is None or phonenumbers.is_valid_number(phonenumbers.parse(phone.e164))


@FUZZ
@given(
    title=TEXT,
    text=TEXT,
    city=st.text(max_size=30),
    ad_id=st.text(max_size=20),
    tel=st.one_of(st.none(), NUMBER_LIKE, st.text(max_size=30)),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=4000)),
    garbage=st.binary(max_size=64),
)
def test_advert_pages_however_broken_extract_without_crashing_and_store_no_number(
    title: str, text: str, city: str, ad_id: str, tel: str | None, cut: int | None, garbage: bytes
) -> None:
    """The fixture site's detail page with fuzzed fields, optionally cut off and followed by random bytes (a
    half-deployed page), through the spider's detail parsing and the extraction pipeline."""
    contact = f'<a class="tel" href="tel:{html.escape(tel)}">Bel</a>' if tel is not None else ""
    page = (
        f'<html><body><div class="ad" data-ad-id="{html.escape(ad_id)}"><h1 class="ad-title">{html.escape(title)}'
        f'</h1><ul class="ad-meta"><li class="ad-city">{html.escape(city)}</li></ul><div class="ad-text"><p>'
        f'{html.escape(text)}</p></div><div class="ad-contact">{contact}</div></div></body></html>'
    ).encode()
    if cut is not None:
        page = page[:cut] + garbage
    response = HtmlResponse(url="http://127.0.0.1/advertentie/K1", body=page, encoding="utf-8")
    spider = GenericAdSpider(site=SITE)
    adverts = _detail_items(spider, response)
    event(f"adverts parsed: {len(adverts)}")
    for advert in adverts:
        found, _ = ExtractPipeline(None, POLICY).extract(advert)  # type: ignore[arg-type]
        for phone in found.phones:
            assert phonenumbers.is_valid_number(phonenumbers.parse(phone.e164))
        stored = f"{found.title} {found.text}"
        assert scan_phones(stored, "NL").phones == [], stored


def _detail_items(spider: GenericAdSpider, response: HtmlResponse) -> list[RawAdvert]:
    class Stats:
        """What parse_detail counts, kept: a broken page is counted, never raised."""

        def __init__(self) -> None:
            self.values: dict[str, object] = {}

        def inc_value(self, name: str, count: int = 1) -> None:
            self.values[name] = int(str(self.values.get(name, 0))) + count

        def get_value(self, name: str) -> object:
            return self.values.get(name)

        def set_value(self, name: str, value: object) -> None:
            self.values[name] = value

    spider.crawler = type("Crawler", (), {"stats": Stats()})()  # parse_detail counts pages without an id
    return [item for item in spider.parse_detail(response) if isinstance(item, RawAdvert)]


@FUZZ
@given(body=st.text(max_size=200), opt_out_type=st.one_of(st.none(), st.text(max_size=10)))
def test_any_inbound_body_is_classified_without_crashing(body: str, opt_out_type: str | None) -> None:
    assert isinstance(classify(body, opt_out_type), Intent)


ALL_STOP_WORDS = sorted({word for words in OPT_OUT_WORDS.values() for word in words})


@FUZZ
@given(
    word=st.sampled_from(ALL_STOP_WORDS),
    before=st.text(alphabet=" \t\n.!?,;:-_*\"'", max_size=4),
    after=st.text(alphabet=" \t\n.!?,;:-_*\"'", max_size=4),
    upper=st.booleans(),
)
def test_an_opt_out_word_in_any_case_and_with_any_punctuation_around_it_opts_out(
    word: str, before: str, after: str, upper: bool
) -> None:
    body = before + (word.upper() if upper else word.lower()) + after
    assert classify(body) is Intent.OPT_OUT, body


CSV_CELL = st.one_of(NUMBER_LIKE, st.text(max_size=20), st.sampled_from(["number", "phone", "", '"', '""', "\x00"]))
CSV_TEXT = st.lists(st.lists(CSV_CELL, max_size=3).map(",".join), max_size=8).map(lambda lines: "\n".join(lines))


@FUZZ
@given(st.one_of(CSV_TEXT, st.text(max_size=300)))
def test_a_blocklist_csv_imports_valid_numbers_or_fails_in_one_line_naming_the_line(text: str) -> None:
    try:
        entries = blocklist.parse_csv(text, "NL")
    except UsageError as exc:
        event("refused")
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message
        assert re.search(r"\bline \d+", message), message
        assert len(message) < 1000
        return
    event(f"imported: {min(len(entries), 2)}")
    for e164, _reason in entries:
        assert phonenumbers.is_valid_number(phonenumbers.parse(e164)), e164


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"number,reason\n+31612345678,ok\n06 12\xe9 34 56,latin-1\n", "line 3: not UTF-8 text"),
        (b"+31612345678,spam\r06-12\r", "line 2"),  # old Mac line ends: the second number is not valid
        (b'"+31612345678,never closed\n', "line 1: not a phone number"),  # a quote never closed
    ],
)
def test_a_blocklist_file_that_cannot_be_read_is_one_clear_error_line(
    content: bytes, expected: str, keys: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'outreach.db'}", keys, tmp_path)
    upgrade(settings.database_url)
    path = tmp_path / "blocklist.csv"
    path.write_bytes(content)
    assert run(["blocklist", "import", str(path), "--config", config_file(settings, tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err, err


def test_a_spreadsheet_export_with_a_byte_order_mark_and_carriage_returns_imports(
    keys: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "blocklist.csv"
    path.write_bytes('\ufeffnumber,reason\r\n+31612345678,spam\r\n0612345679,"two\rlines"\r\n'.encode())
    assert blocklist.read_csv_file(path, "NL") == [("+31612345678", "spam"), ("+31612345679", "two\rlines")]
