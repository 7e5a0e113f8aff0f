"""Opt-out and opt-in keywords in every template language and Twilio's own, matched as the whole message,
case- and accent-insensitively.

A longer message that contains a strong opt-out word ("stop sturen aub") is a *possible* opt-out: automatic
messages pause and a fieldworker reads it. Ambiguous words (END, QUIT, ALTO, ...) count only as the whole message.
"""

from __future__ import annotations

from enum import StrEnum

from outreach.parsing.folding import normalise

# Whole-message opt-out words per language. "twilio": the keywords Twilio itself handles and answers on every
# number (its default list; also the starting list of a Messaging Service's Advanced Opt-Out).
OPT_OUT_WORDS: dict[str, tuple[str, ...]] = {
    "twilio": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
    "en": ("STOP", "OPT OUT", "OPTOUT", "UNSUBSCRIBE", "STOP MESSAGES", "NO MORE MESSAGES"),
    "nl": ("STOP", "STOPPEN", "AFMELDEN", "UITSCHRIJVEN", "GEEN BERICHTEN", "GEEN BERICHTEN MEER"),
    "ro": ("STOP", "DEZABONARE", "DEZABONEAZA", "OPRESTE", "RENUNT", "NU MAI TRIMITE"),
    "bg": ("STOP", "СТОП", "ОТПИСВАНЕ", "ОТПИШИ", "СПРИ", "СПРЕТЕ"),
    "pl": ("STOP", "WYPISZ", "REZYGNUJE", "REZYGNACJA", "ANULUJ", "KONIEC"),
    "es": ("STOP", "BAJA", "PARAR", "DETENER", "CANCELAR", "ALTO", "NO MAS"),
    "pt": ("STOP", "SAIR", "PARAR", "CANCELAR", "DESCADASTRAR", "NAO QUERO"),
    "hu": ("STOP", "LEIRATKOZAS", "LEIRATKOZOM", "ALLJ", "LEALLITAS", "NE IRJ"),
}
OPT_IN_WORDS: tuple[str, ...] = ("START", "UNSTOP", "AANMELDEN", "PORNESTE", "СТАРТ", "INICIAR", "INDITAS")
# Inside a longer message these still mean "maybe stop"; ambiguous ones (END, ALTO, KONIEC ...) do not.
STRONG_WORDS: frozenset[str] = frozenset(
    {"STOP", "STOPPEN", "AFMELDEN", "UITSCHRIJVEN", "UNSUBSCRIBE", "OPTOUT", "DEZABONARE", "OPRESTE", "СТОП"}
    | {"ОТПИСВАНЕ", "ОТПИШИ", "WYPISZ", "REZYGNUJE", "BAJA", "DESCADASTRAR", "LEIRATKOZAS", "LEIRATKOZOM"}
)


class Intent(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    POSSIBLE_OPT_OUT = "possible_opt_out"
    REPLY = "reply"


_ALL_OPT_OUT = frozenset(normalise(word) for words in OPT_OUT_WORDS.values() for word in words)
_ALL_OPT_IN = frozenset(normalise(word) for word in OPT_IN_WORDS)


TWILIO_STOP_WORDS = frozenset(OPT_OUT_WORDS["twilio"])


def twilio_answered(body: str, twilio_opt_out_type: str | None) -> bool:
    """Did Twilio itself confirm this opt-out to the person? Twilio answers its keywords on its own, matched as the
    whole message, case-insensitively: with a Messaging Service's Advanced Opt-Out it says so in OptOutType (and its
    list may hold other words, Dutch ones say); on a number without it, the webhook has no OptOutType and the
    default English words are answered all the same. A word Twilio did not answer gets our one confirmation."""
    return bool(twilio_opt_out_type) or body.strip().upper() in TWILIO_STOP_WORDS


def classify(body: str, twilio_opt_out_type: str | None = None) -> Intent:
    """What an inbound message asks for. Twilio's OptOutType (its own keyword handling) is authoritative."""
    kind = (twilio_opt_out_type or "").upper()
    if kind == "STOP":
        return Intent.OPT_OUT
    if kind == "START":
        return Intent.OPT_IN
    text = normalise(body)
    if text in _ALL_OPT_OUT:
        return Intent.OPT_OUT
    if text in _ALL_OPT_IN:
        return Intent.OPT_IN
    if STRONG_WORDS.intersection(text.split()):
        return Intent.POSSIBLE_OPT_OUT
    return Intent.REPLY
