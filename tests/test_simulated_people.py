"""The playground's simulated people (testworld/simulated_people.py): who answers what and when, and that the
answers reach a webhook signed as Twilio signs them, at their time, and stop when told."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from testworld.server import BackgroundServer, QuietHandler
from testworld.simulated_people import SCRIPT, PlannedAnswer, SimulatedPeople, plan
from testworld.twilio_gateway import TwilioGateway

# Fictitious numbers of the test world's kind, one per language.
MESSAGED = {
    "+31600000101": "nl",
    "+31600000102": "nl",
    "+31600000103": "nl",
    "+31600000104": "en",
    "+40700000105": "ro",
    "+48500000106": "pl",
    "+34600000107": "es",
}


def test_the_plan_has_every_case_a_trainee_should_meet_each_from_another_person_at_its_time() -> None:
    answers = plan(MESSAGED, every=30)
    kinds = [answer.kind for answer in answers]
    assert kinds == [kind for kind, *_ in SCRIPT]
    assert {"health", "money", "stop", "stop-sentence", "romanian"} <= set(kinds)
    assert [answer.at for answer in answers] == [30.0 * (i + 1) for i in range(len(answers))]
    numbers = [answer.number for answer in answers]
    assert len(set(numbers)) == len(numbers), "one person, one answer"
    assert set(numbers) <= set(MESSAGED), "only people the demo messaged answer"
    # A person of the text's language answers where the demo messaged one.
    for answer in answers:
        assert MESSAGED[answer.number] == answer.language, answer
    by_kind = {answer.kind: answer for answer in answers}
    assert by_kind["stop"].body == "STOP"
    assert by_kind["stop-sentence"].body == "stop sturen aub"
    assert by_kind["romanian"].number.startswith("+40")


def test_the_plan_is_the_same_for_the_same_world_and_makes_do_with_fewer_people() -> None:
    assert plan(MESSAGED, 5) == plan(dict(reversed(MESSAGED.items())), 5)
    only_dutch = {"+31600000201": "nl", "+31600000202": "nl"}
    answers = plan(only_dutch, 1)
    assert [a.kind for a in answers] == ["health", "money"]  # two people, two answers
    assert answers[1].language == "en" and answers[1].number == "+31600000202"  # nobody English: anyone answers
    assert plan({}, 1) == []
    assert [a.at for a in plan(MESSAGED, 0)] == [0.0] * len(SCRIPT)
    with pytest.raises(ValueError, match="every"):
        plan(MESSAGED, -1)


class Received(QuietHandler):
    world: Webhook

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        url = f"{self.world.url}{self.path}"
        signed = RequestValidator("test-token").validate(url, form, self.headers.get("X-Twilio-Signature", ""))
        with self.world.lock:
            self.world.posts.append((time.monotonic(), form, signed))
        self.send_body(200 if signed else 403, b"", "text/xml")


class Webhook(BackgroundServer):
    """Our inbound webhook as Twilio sees it: records every post and whether Twilio's signature checks out."""

    handler_class = Received

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[tuple[float, dict[str, str], bool]] = []
        self.lock = threading.Lock()


@contextmanager
def world() -> Iterator[tuple[TwilioGateway, Webhook]]:
    with TwilioGateway(auth_token="test-token") as gateway, Webhook() as webhook:
        yield gateway, webhook


def test_answers_arrive_signed_in_order_and_not_before_their_time() -> None:
    answers = plan(MESSAGED, every=0.3)[:3]
    reported: list[tuple[str, int]] = []
    with world() as (gateway, webhook):
        started = time.monotonic()
        people = SimulatedPeople(
            gateway, f"{webhook.url}/twilio/inbound", answers, lambda a, status: reported.append((a.kind, status))
        )
        with people:
            deadline = time.monotonic() + 10
            while not people.done() and time.monotonic() < deadline:
                time.sleep(0.05)
    assert [(form["From"], form["Body"]) for _, form, _ in webhook.posts] == [(a.number, a.body) for a in answers]
    assert all(signed for *_, signed in webhook.posts)
    for (arrived, _, _), answer in zip(webhook.posts, answers, strict=True):
        assert arrived - started >= answer.at - 0.01, f"{answer.kind} came before its time"
    assert webhook.posts[-1][0] - started < 0.9 + 2.0, "the answers are late"
    assert reported == [(a.kind, 200) for a in answers]
    assert gateway.opted_out == {answers[2].number}, "Twilio's own STOP handling sees the STOP"


def test_stop_ends_at_once_and_sends_nothing_that_was_not_due() -> None:
    soon = PlannedAnswer(0.05, "health", "a question about health", "nl", "+31600000101", "Hoi?")
    later = PlannedAnswer(300, "money", "a question about money", "en", "+31600000104", "Hi?")
    with world() as (gateway, webhook):
        people = SimulatedPeople(gateway, f"{webhook.url}/twilio/inbound", [later, soon])
        people.start()
        deadline = time.monotonic() + 10
        while not people.posted and time.monotonic() < deadline:
            time.sleep(0.02)
        stopping = time.monotonic()
        people.stop()
        assert time.monotonic() - stopping < 1
        assert not people.done()
    assert [form["Body"] for _, form, _ in webhook.posts] == ["Hoi?"]
    assert people.posted == [(soon, 200)]


def test_an_unreachable_webhook_is_reported_not_raised() -> None:
    answer = PlannedAnswer(0, "health", "a question about health", "nl", "+31600000101", "Hoi?")
    reported: list[int] = []
    with TwilioGateway() as gateway:
        with Webhook() as gone:
            url = f"{gone.url}/twilio/inbound"
        with SimulatedPeople(gateway, url, [answer], lambda a, status: reported.append(status)) as people:
            deadline = time.monotonic() + 10
            while not people.done() and time.monotonic() < deadline:
                time.sleep(0.02)
    assert reported == [0]
