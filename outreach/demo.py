"""`outreach demo`: one full cycle against the bundled fixture ad site and the Twilio-compatible test gateway,
on a fresh SQLite database under var/demo/.

`outreach demo --serve` (the playground) then keeps that world running: the dashboard on 127.0.0.1 with its
webhooks, demo users with generated passwords, an outbox drained every second (an answer typed on a case page
leaves at once by itself; drafts approved in the browser and answers queued outside the send window leave with the
drain, as they would with the scheduler) and simulated people who answer some of the messages (testworld's
simulated_people), until SIGINT or SIGTERM. This is the only product module that imports the test world.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

import yaml

from messaging.outbox.factory import make_outbox
from outreach.access.masking import mask
from outreach.access.users import add_user
from outreach.crypto import PhoneVault, new_keys
from outreach.cycle.run import CycleReport, run_cycle
from outreach.errors import UsageError
from outreach.people import optouts
from outreach.settings import Settings, load_settings
from outreach.store.db import PROJECT_ROOT, Store, upgrade
from testworld.fixture_site import FixtureSite
from testworld.policy import world_overrides
from testworld.simulated_people import DEFAULT_EVERY, PlannedAnswer, SimulatedPeople, plan
from testworld.twilio_gateway import GatewayMessage, TwilioGateway
from testworld.web_server import UvicornThread, free_port

logger = logging.getLogger("outreach.demo")
DEMO_FOLDER = PROJECT_ROOT / "var" / "demo"
# The playground's users: one supervisor and two fieldworkers, so that assigning a case to a colleague can be tried.
DEMO_USERS = (
    ("demo-supervisor", "supervisor"),
    ("demo-fieldworker", "fieldworker"),
    ("demo-fieldworker-2", "fieldworker"),
)
DRAIN_EVERY = 1.0  # seconds between two drains of the outbox while the playground runs


@dataclass
class DemoResult:
    config_file: Path
    report: CycleReport
    settings: Settings
    database: Path
    ground_truth: Path
    gateway_numbers: set[str]
    expected_numbers: set[str]


@dataclass
class DemoWorld:
    """The demo's world after its cycle, still running: what the playground keeps serving."""

    result: DemoResult
    site: FixtureSite
    gateway: TwilioGateway
    overrides: dict[str, Any]  # the settings the cycle ran with
    languages: dict[str, str]  # E.164 -> language, of every person the ground truth expects a message for


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    password: str


def _write_key(path: Path, value: str) -> None:
    path.write_text(value + "\n", encoding="utf-8")
    os.chmod(path, 0o600)


def prepare(folder: Path) -> tuple[Path, Path, Path]:
    """A fresh database and log folder; the demo's own keys are made once and kept."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "outreach.db"
    for leftover in (database, folder / "outreach.db-wal", folder / "outreach.db-shm"):
        leftover.unlink(missing_ok=True)
    hmac_file, fernet_file = folder / "hmac.key", folder / "fernet.key"
    if not (hmac_file.exists() and fernet_file.exists()):
        hmac_key, fernet_key = new_keys()
        _write_key(hmac_file, hmac_key)
        _write_key(fernet_file, fernet_key)
    return database, hmac_file, fernet_file


@contextmanager
def demo_world(folder: Path = DEMO_FOLDER, *, actor: str, adverts: int = 300) -> Iterator[DemoWorld]:
    """Start the fixture site and the gateway, run one cycle, and keep both running inside the `with` block."""
    database, hmac_file, fernet_file = prepare(folder)
    with FixtureSite(seed=1, count=adverts) as site, TwilioGateway() as gateway:
        site.write_site_file(folder / "sites")
        ground_truth = site.write_ground_truth(folder / "ground-truth.json")
        overrides: dict[str, Any] = {
            "database_url": f"sqlite:///{database}",
            "hmac_key_file": hmac_file,
            "fernet_key_file": fernet_file,
            **world_overrides(folder, gateway),
        }
        settings = load_settings(**overrides)
        upgrade(settings.database_url, vault=PhoneVault.from_settings(settings))
        report = run_cycle(settings, actor=actor)
        numbers = set(gateway.sent_to())
        languages: dict[str, str] = json.loads(ground_truth.read_text(encoding="utf-8"))["eligible"]
        config_file = _write_config(folder, database, hmac_file, fernet_file)
        result = DemoResult(config_file, report, settings, database, ground_truth, numbers, set(languages))
        yield DemoWorld(result, site, gateway, overrides, languages)


def _write_config(folder: Path, database: Path, hmac_file: Path, fernet_file: Path) -> Path:
    config_file = folder / "outreach.yaml"
    config_file.write_text(
        "# Settings to look at the demo database: outreach log --config var/demo/outreach.yaml\n"
        + yaml.safe_dump(
            {
                "database_url": f"sqlite:///{database}",
                "hmac_key_file": str(hmac_file),
                "fernet_key_file": str(fernet_file),
                "sites_dir": str(folder / "sites"),
                "log_dir": str(folder / "log"),
                "dry_run": True,
            }
        ),
        encoding="utf-8",
    )
    return config_file


def check_port_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise UsageError(f"--port {port}: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc


class Playground:
    """The demo world kept running for people to try the dashboard: `with Playground(...) as playground:` starts
    the dashboard (app_factory: `outreach serve`'s app) on 127.0.0.1, adds the demo users, drains the outbox every
    `drain_every` seconds and lets simulated people answer every `answer_every` seconds; `say` gets a line for
    each answer and each message the gateway receives. Leaving the block stops the simulated people, the drain and
    the server, in that order."""

    def __init__(
        self,
        world: DemoWorld,
        app_factory: Callable[[Settings], Any],
        *,
        actor: str,
        port: int = 0,
        answer_every: float = DEFAULT_EVERY,
        drain_every: float = DRAIN_EVERY,
        say: Callable[[str], None] = lambda text: None,
    ) -> None:
        if port:
            check_port_free(port)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.world = world
        self.actor = actor
        self.drain_every = drain_every
        self.settings = load_settings(
            **world.overrides,
            web={"public_url": self.url, "host": "127.0.0.1", "port": self.port},
        )
        self.app_factory = app_factory
        messaged = {n: world.languages.get(n, "") for n in world.result.gateway_numbers}
        self.answers = plan(messaged, answer_every)
        self.say = say
        self.people = SimulatedPeople(world.gateway, f"{self.url}/twilio/inbound", self.answers, self._answered)
        self.users: list[DemoUser] = []
        self._stop = threading.Event()
        self._drainer = threading.Thread(target=self._drain, name="outbox-drain", daemon=True)
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        with Store(self.settings.database_url) as store:
            self.users = _add_users(store, self.actor)
        with ExitStack() as stack:
            stack.enter_context(UvicornThread(self.app_factory(self.settings), self.port))
            self._drainer.start()
            stack.callback(self._stop_drain)
            self.world.gateway.on_create = self._received
            stack.callback(setattr, self.world.gateway, "on_create", None)
            stack.enter_context(self.people)
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    def _answered(self, answer: PlannedAnswer, status: int) -> None:
        outcome = "see the dashboard" if status == 200 else f"the dashboard answered HTTP {status}"
        self.say(f"a simulated person ({mask(answer.number)}) wrote: {answer.what}; {outcome}")

    def _received(self, message: GatewayMessage) -> None:
        self.say(f"the test gateway received a message for {mask(message.to.removeprefix('whatsapp:'))}")

    def _stop_drain(self) -> None:
        self._stop.set()
        self._drainer.join(30)

    def _drain(self) -> None:
        """What the dashboard queues without sending (approved drafts, an answer outside the send window) leaves
        here through the one outbox path, as the scheduler's drain would send it."""
        with Store(self.settings.database_url) as store:
            outbox = make_outbox(self.settings, store, self.actor, optouts, stop=self._stop)
            while not self._stop.wait(self.drain_every):
                try:
                    outbox.drain()
                except Exception:  # a busy database or a gateway hiccup: the next round tries again
                    logger.exception("playground: draining the outbox failed; trying again")


def _add_users(store: Store, actor: str) -> list[DemoUser]:
    users = [DemoUser(name, role, secrets.token_urlsafe(12)) for name, role in DEMO_USERS]
    with store.session() as session:
        for user in users:
            add_user(session, user.name, user.role, user.password, actor)
    return users


@contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """Inside the block, SIGINT (Ctrl-C) and SIGTERM set the event instead of ending the process at once, so that
    everything can be stopped in order; the previous handlers come back after."""
    arrived = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        arrived.set()

    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield arrived
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def wait(event: threading.Event) -> None:
    """Wait for the event in short steps (a signal handler runs between them)."""
    while not event.wait(0.5):
        pass
