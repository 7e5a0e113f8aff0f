"""Benchmark: phone extraction's precision, recall and speed, on generated texts only (every number is made from
phonenumbers' example numbers with random subscriber digits: fictitious).

    .venv/bin/python -m bench.phones [--texts 20000] [--adverts 5000] [--runs 5] [--seed 1]

- false numbers: texts made only of figures that are not phone numbers, next to each other (prices, dates, times,
  durations, postcodes, body measures) in the ways adverts join them; every number found in them is false. Once of
  any kind, once of the kinds adverts write only (without bare small numbers, bare postcodes, two-digit years);
- numbers followed by figures: a valid mobile of one of several countries, written plainly or disguised, with or
  without the international prefix, followed by such figures: found exactly, found wrong (another number), missed;
- speed: what the pipeline runs per advert (scan_phones over title and text, scrub_numbers on both) over the
  fixture world's adverts (another world each run), median of --runs, in adverts per second.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter

import phonenumbers
from phonenumbers import PhoneNumberType

from crawler.phones import find_phones, scan_phones, scrub_numbers
from testworld.fixture_site import generate

# The countries most advertisers come from, and some with numbers of several lengths (DE, IT, AT, BG, BR).
COUNTRIES = ["NL", "BE", "DE", "FR", "ES", "RO", "PL", "BG", "HU", "IT", "GB", "AT", "PT", "CZ", "UA", "BR", "CO", "TH"]
JOINS = [" ", ", ", " - ", " / ", " | ", " 🔥 ", "\n", " * ", "  ", ". ", " en ", " ❤ "]


def _date(rng: random.Random, realistic: bool) -> str:
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.choice([2025, 2026, 2027])
    sep = rng.choice("-./")
    pad = rng.random() < 0.6
    d, m = (f"{day:02d}", f"{month:02d}") if pad else (str(day), str(month))
    spellings = [f"{d}{sep}{m}{sep}{year}", f"{year}-{month:02d}-{day:02d}", f"{d}{sep}{m}"]
    if not realistic:
        spellings.append(f"{d}{sep}{m}{sep}{year % 100:02d}")  # "06.12.26": a number too could be written so
    return rng.choice(spellings)


def _time(rng: random.Random) -> str:
    start, end = rng.randint(0, 12), rng.randint(13, 24)
    return rng.choice(
        [
            f"{start}-{end}",
            f"{start:02d}-{end:02d}",
            f"{start:02d}.00-{end:02d}.00",
            f"{start:02d}.00 - {end:02d}.00",
            f"{start}.30 - {end}.30 uur",
            f"{start:02d}:00-{end:02d}:00",
            f"{start:02d}.{rng.choice(['00', '15', '30', '45'])}",
            "24/7",
            "24/24",
            "0-24",
            f"{end}u",
        ]
    )


def _figure(rng: random.Random, realistic: bool = False) -> str:
    """One run of figures that is not a phone number. Realistic: as adverts write them, without what a number could
    also be (bare small numbers, bare postcodes, dates with a two-digit year)."""
    kinds = ["price", "time", "duration", "date", "postcode", "body", "year"] + ([] if realistic else ["plain"])
    kind = rng.choice(kinds)
    if kind == "price":
        amount = rng.choice([50, 60, 80, 100, 120, 150, 200, 250, 300, 350, 400, 500, 1000, 1500])
        return rng.choice(
            [f"€{amount}", f"€ {amount}", f"{amount} euro", f"{amount},-", f"€{amount},-", f"{amount} EUR"]
        )
    if kind == "time":
        return _time(rng)
    if kind == "duration":
        return rng.choice(["15 min", "30 min", "45 min", "60 min", "90 min", "1 uur", "2 uur", "1/2 uur", "1,5 uur"])
    if kind == "date":
        return _date(rng, realistic)
    if kind == "postcode":
        digits = rng.randint(1000, 9999)
        if realistic:
            return f"{digits} {rng.choice(['AB', 'CD', 'XK'])}"
        return rng.choice(
            [
                f"{digits} {rng.choice(['AB', 'CD', 'XK'])}",
                f"{digits}{rng.choice(['AB', 'CD', 'XK'])}",
                str(digits),
                f"{rng.randint(0, 99):02d}-{rng.randint(0, 999):03d}",  # Polish
                f"{rng.randint(0, 999999):06d}",  # Romanian
                f"{rng.randint(1000, 52999):05d}",  # Spanish
            ]
        )
    if kind == "body":
        return rng.choice(
            [
                f"1.{rng.randint(50, 85)} m",
                f"{rng.randint(150, 185)} cm",
                f"{rng.randint(45, 90)} kg",
                "90-60-90",
                "36-24-36",
                f"{rng.randint(18, 45)} jaar",
            ]
        )
    if kind == "year":
        return str(rng.randint(1990, 2027))
    return str(rng.randint(0, 999))


def false_numbers(texts: int, seed: int, realistic: bool = False) -> tuple[int, int, int, list[str]]:
    """(texts with a number found, numbers found, mobiles found, some examples)"""
    rng = random.Random(seed)
    joins = [join for join in JOINS if join != "\n"] if realistic else JOINS
    hit_texts = found = mobiles = 0
    examples: list[str] = []
    for _ in range(texts):
        parts = [_figure(rng, realistic) for _ in range(rng.randint(2, 5))]
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(joins) + part
        phones = find_phones(f"Vanaf {text} ok", "NL")
        if phones:
            hit_texts += 1
            found += len(phones)
            mobiles += sum(phone.is_mobile for phone in phones)
            if len(examples) < 8:
                examples.append(f"{text!r} -> {[p.e164 for p in phones]}")
    return hit_texts, found, mobiles, examples


def random_mobile(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    """A valid mobile of `region`: its example number with random digits after the first three."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert example is not None
    national = str(example.national_number)
    for _ in range(200):
        candidate = national[:3] + "".join(rng.choice("0123456789") for _ in national[3:])
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
            PhoneNumberType.MOBILE,
            PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            return number
    return example


def _group(digits: str, separator: str, size: int) -> str:
    return separator.join(digits[i : i + size] for i in range(0, len(digits), size))


def written(rng: random.Random, number: phonenumbers.PhoneNumber, region: str) -> str:
    """The number as an advert writes it: international (+ or 00), national for the default region; grouped as
    phonenumbers formats it or in twos, threes, fours; plain or disguised."""
    national = str(number.national_number)
    code = str(number.country_code)
    style = rng.choice(["formatted", "plus", "double_zero", "national"])
    if style == "national" and phonenumbers.region_code_for_number(number) != region:
        style = "plus"
    separator = rng.choice(["", " ", " ", "-", ".", " 🔥 ", "❤", "*", " punt ", " - ", "_"])
    size = rng.randint(2, 4)
    if style == "formatted":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if style == "national":
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if rng.random() < 0.5:
            text = _group("".join(c for c in text if c.isdigit()), separator, size)
    else:
        text = ("+" if style == "plus" else "00") + code + " " + _group(national, separator, size)
    if separator not in ("", " ", "-", ".") and rng.random() < 0.3:
        text = text.replace("0", "O")
    return text


def followed_by_figures(texts: int, seed: int, region: str = "NL") -> tuple[Counter[str], Counter[str], list[str]]:
    """(outcomes, misses by country, some examples of misses)"""
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    missed_by_country: Counter[str] = Counter()
    examples: list[str] = []
    for _ in range(texts):
        country = rng.choice(COUNTRIES)
        number = random_mobile(rng, country)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        suffix = _figure(rng)
        text = f"Bel {written(rng, number, region)}{rng.choice(JOINS)}{suffix} ok"
        found = [p.e164 for p in find_phones(text, region)]
        outcome = "exact" if found == [e164] else "missed" if not found else "wrong"
        outcomes[outcome] += 1
        if outcome != "exact":
            missed_by_country[country] += 1
            if len(examples) < 12:
                examples.append(f"{text!r} -> {found} (want {e164})")
    return outcomes, missed_by_country, examples


def speed(adverts: int, runs: int) -> float:
    """Each run on adverts of its own (another seed): what is read once is not read again, as in a crawl."""
    rates = []
    for run in range(runs):
        texts = [(ad.title, ad.text) for ad in generate(seed=run + 1, count=adverts).adverts]
        start = time.perf_counter()
        for title, text in texts:
            scan_phones(f"{title}\n{text}\n", "NL")
            scrub_numbers(title, "NL")
            scrub_numbers(text, "NL")
        rates.append(len(texts) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=20000)
    parser.add_argument("--adverts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    for realistic in (False, True):
        hit_texts, found, mobiles, examples = false_numbers(args.texts, args.seed, realistic)
        kinds = "the kinds adverts write" if realistic else "any kind"
        print(
            f"false numbers ({kinds}): {found} ({mobiles} mobiles) in {hit_texts} of {args.texts} texts of figures"
            " that are not numbers"
        )
        for example in examples:
            print(f"  {example}")
    outcomes, by_country, misses = followed_by_figures(args.texts, args.seed)
    total = sum(outcomes.values())
    print(
        f"numbers followed by figures: {outcomes['exact']} exact, {outcomes['wrong']} wrong, "
        f"{outcomes['missed']} missed of {total} ({outcomes['exact'] / total:.1%} exact)"
    )
    print(f"  not exact, by country: {dict(by_country.most_common())}")
    for miss in misses:
        print(f"  {miss}")
    rate = speed(args.adverts, args.runs)
    print(f"extraction: {rate:.0f} adverts/s (scan_phones + scrub_numbers, {args.adverts} fixture adverts)")


if __name__ == "__main__":
    main()
