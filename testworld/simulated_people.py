"""Simulated people for the playground (`outreach demo --serve`): some of the people the demo messaged answer,
one after another, through the test gateway's signed inbound webhook, as they would through Twilio.

The answers are the cases a new fieldworker meets first: a question about health, a question about money, a plain
"STOP", a sentence asking us to stop, a reply in Romanian, someone asking who we are. Every text is invented for the
test world; the numbers are the fixture world's own (generated, fictitious).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

# (kind, what it is in a few words, the language of the person who sends it, the text). A person of that language
# answers when the demo messaged one, else anyone (people do answer in another language than the advert's).
SCRIPT: tuple[tuple[str, str, str, str], ...] = (
    (
        "health",
        "a question about health",
        "nl",
        "Hoi, dank voor je bericht. Kan ik me bij jullie gratis en anoniem laten testen op soa?",
    ),
    (
        "money",
        "a question about money",
        "en",
        "Hi, thanks for the text. I have debts and cannot pay the rent this month, can you help?",
    ),
    ("stop", "an opt-out", "pl", "STOP"),
    ("stop-sentence", "a sentence asking to stop", "nl", "stop sturen aub"),
    (
        "romanian",
        "a reply in Romanian",
        "ro",
        "Bună ziua, am primit mesajul. Aveți un medic care vorbește română? Mulțumesc.",
    ),
    ("who", "a question who we are", "nl", "Wie is dit? Hoe komen jullie aan mijn nummer?"),
)
DEFAULT_EVERY = 40.0  # seconds between two answers: the six arrive over the first four minutes


@dataclass(frozen=True)
class PlannedAnswer:
    at: float  # seconds after the simulation starts
    kind: str
    what: str  # what it is in a few words, for the playground's console
    language: str  # the language of the text
    number: str  # E.164, one the demo messaged
    body: str


def plan(messaged: Mapping[str, str], every: float = DEFAULT_EVERY) -> list[PlannedAnswer]:
    """Who answers what and when. messaged: E.164 -> language of each person the demo messaged. Each answer comes
    from a different person, chosen in number order (the same world gives the same plan); the first one `every`
    seconds after the start, the next ones `every` seconds apart. Fewer answers when fewer people were messaged."""
    if every < 0:
        raise ValueError("every: seconds between answers, 0 or more")
    unused = sorted(messaged)
    answers: list[PlannedAnswer] = []
    for kind, what, language, body in SCRIPT:
        if not unused:
            break
        number = next((n for n in unused if messaged[n] == language), unused[0])
        unused.remove(number)
        answers.append(PlannedAnswer((len(answers) + 1) * every, kind, what, language, number, body))
    return answers


class Gateway(Protocol):
    def inbound(self, webhook_url: str, from_number: str, body: str) -> int: ...


class SimulatedPeople:
    """Posts the planned answers to `webhook_url` through the gateway, each at its time, from a background thread;
    `stop()` (or leaving the `with` block) ends it at once, answers not yet due are not sent.
    on_answer(answer, status): after each post, with the HTTP status the webhook answered (0: not reachable)."""

    def __init__(
        self,
        gateway: Gateway,
        webhook_url: str,
        answers: list[PlannedAnswer],
        on_answer: Callable[[PlannedAnswer, int], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gateway = gateway
        self.webhook_url = webhook_url
        self.answers = sorted(answers, key=lambda answer: answer.at)
        self.on_answer = on_answer
        self.clock = clock
        self.posted: list[tuple[PlannedAnswer, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulated-people", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def done(self) -> bool:
        return not self._thread.is_alive() and len(self.posted) == len(self.answers)

    def _run(self) -> None:
        started = self.clock()
        for answer in self.answers:
            if self._stop.wait(max(answer.at - (self.clock() - started), 0)):
                return
            try:
                status = self.gateway.inbound(self.webhook_url, answer.number, answer.body)
            except OSError:
                status = 0
            self.posted.append((answer, status))
            if self.on_answer is not None:
                self.on_answer(answer, status)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
