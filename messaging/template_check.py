"""`outreach templates check`: every message the cycle can send renders, names the organisation, says how to stop,
fits the segment budget and says nothing a person reading over the recipient's shoulder should not see.

The cycle runs the same check before it crawls, so a broken or indiscreet template never reaches anyone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from messaging.quick_replies import languages as quick_reply_languages
from messaging.quick_replies import quick_replies
from messaging.segments import count_segments
from messaging.templates import TemplateBook
from outreach.errors import ConfigError
from outreach.settings import Settings
from outreach.store.states import CONTACTS, MessageKind


@dataclass
class TemplateResult:
    language: str
    channel: str
    kind: MessageKind
    variant: str
    body: str = ""
    encoding: str = "-"
    characters: int = 0
    segments: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def name(self) -> str:
        variant = "" if self.variant == "a" else f".{self.variant}"
        kind = "" if self.kind == MessageKind.FIRST_CONTACT else f"{self.kind}/"
        return f"{self.channel}/{kind}{self.language}{variant}"


def fold(text: str) -> str:
    """Lower case without accents, so that "Politie", "POLITIE" and "polítie" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def forbidden_in(body: str, words: list[str]) -> list[str]:
    """The configured words that occur in body as whole words (a space in a word also matches a hyphen)."""
    folded = fold(body)
    found = []
    for word in words:
        pattern = r"[\s-]+".join(re.escape(part) for part in fold(word).split())
        if pattern and re.search(rf"(?<!\w){pattern}(?!\w)", folded):
            found.append(word)
    return found


def _has_word(body: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", body) is not None


def _languages(settings: Settings) -> list[str]:
    return list(dict.fromkeys([*settings.languages, settings.fallback_language]))


def _opt_out_languages(settings: Settings) -> list[str]:
    """As outreach.people.inbound picks them: the configured languages that have a confirmation, and the fallback, which
    answers everyone else and so must exist."""
    folder = settings.templates_dir / "sms" / MessageKind.OPT_OUT_CONFIRMATION
    present = [lang for lang in settings.languages if (folder / f"{lang}.txt.j2").is_file()]
    return list(dict.fromkeys([*present, settings.fallback_language]))


def _check_book(settings: Settings, language: str, kind: MessageKind) -> list[TemplateResult]:
    try:
        book = TemplateBook(settings.templates_dir, [language], language, "sms", kind, settings.templates.variant_seed)
    except ConfigError as exc:
        return [TemplateResult(language, "sms", kind, "a", problems=[str(exc)])]
    results = []
    for variant in book.variants(language):
        result = TemplateResult(language, "sms", kind, variant)
        results.append(result)
        try:
            result.body = book.render(language, settings.organisation, variant=variant).body
        except ConfigError as exc:
            result.problems.append(str(exc))
            continue
        _judge(result, settings)
    return results


def _judge(result: TemplateResult, settings: Settings) -> None:
    count = count_segments(result.body)
    result.encoding, result.characters, result.segments = count.encoding, count.characters, count.segments
    budget = settings.templates.max_segments
    if count.segments > budget:
        result.problems.append(
            f"{count.segments} SMS parts ({count.units} {count.encoding} units), over the budget of {budget} "
            "(templates.max_segments)"
        )
    organisation = settings.organisation
    if organisation.name not in result.body:
        result.problems.append(f"does not name the organisation {organisation.name!r}")
    if result.kind in CONTACTS and not _has_word(result.body, organisation.stop_keyword):
        result.problems.append(f"no opt-out instruction: the stop keyword {organisation.stop_keyword!r} is missing")
    # Every message may be read by someone else, the confirmation of an opt-out too.
    words = forbidden_in(result.body, settings.templates.forbidden_words)
    if words:
        result.problems.append(f"contains {', '.join(repr(w) for w in words)} (templates.forbidden_words)")


def _check_quick_replies(settings: Settings) -> list[TemplateResult]:
    """Each quick reply fits the answer's budget (cases.reply_max_segments) and says nothing indiscreet."""
    results = []
    signature = settings.organisation
    for language in quick_reply_languages(settings.templates_dir):
        try:
            replies = quick_replies(settings.templates_dir, language, signature.name, signature.fieldworker)
        except ConfigError as exc:
            results.append(TemplateResult(language, "sms", MessageKind.REPLY, "quick", problems=[str(exc)]))
            continue
        for reply in replies:
            result = TemplateResult(language, "sms", MessageKind.REPLY, reply.title, body=reply.text)
            count = count_segments(reply.text)
            result.encoding, result.characters, result.segments = count.encoding, count.characters, count.segments
            if count.segments > settings.cases.reply_max_segments:
                result.problems.append(
                    f"{count.segments} SMS parts, over the answer's budget of {settings.cases.reply_max_segments} "
                    "(cases.reply_max_segments)"
                )
            words = forbidden_in(reply.text, settings.templates.forbidden_words)
            if words:
                result.problems.append(f"contains {', '.join(repr(w) for w in words)} (templates.forbidden_words)")
            results.append(result)
    return results


def check_templates(settings: Settings) -> list[TemplateResult]:
    """One result per template (and variant) that the cycle or an opt-out could send; with several organisations,
    also every failure with one of their signatures (a longer name may cost an SMS part more)."""
    results = _check_all(settings) + _check_quick_replies(settings)
    for unit in settings.organisations:
        signed = settings.model_copy(update={"organisation": unit.signature(settings.organisation.stop_keyword)})
        for result in _check_all(signed):
            if not result.ok:
                result.problems = [f"organisation {unit.key}: {problem}" for problem in result.problems]
                results.append(result)
    return results


def _check_all(settings: Settings) -> list[TemplateResult]:
    results: list[TemplateResult] = []
    for language in _languages(settings):
        results.extend(_check_book(settings, language, MessageKind.FIRST_CONTACT))
    if settings.targeting.reminder.enabled:
        for language in _languages(settings):
            results.extend(_check_book(settings, language, MessageKind.REMINDER))
    for language in _opt_out_languages(settings):
        results.extend(_check_book(settings, language, MessageKind.OPT_OUT_CONFIRMATION))
    return results


def require_templates_pass(settings: Settings) -> None:
    """Raise the first failure as a ConfigError; the cycle calls this before it crawls."""
    failed = [r for r in check_templates(settings) if not r.ok]
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more; run `outreach templates check`)" if len(failed) > 1 else ""
        raise ConfigError(f"template {first.name}: {first.problems[0]}{more}")
