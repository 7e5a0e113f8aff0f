"""The playground, `outreach demo --serve`, as a trainee uses it: the real command in its own process, the demo
cycle, then the dashboard on 127.0.0.1 with the printed demo passwords, simulated people whose answers open
conversations (/cases), an answer typed on a case page reaching the test gateway at once, without a cycle, and
Ctrl-C or SIGTERM ending it all with exit 0 and no process left."""

from __future__ import annotations

import html
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest

from testworld.web_server import free_port

PASSWORD_LINE = re.compile(r"^\s+(demo-[\w-]+)\s+(supervisor|fieldworker)\s+password: (\S+)$")
DASHBOARD_LINE = re.compile(r"the dashboard runs at (http://127\.0\.0\.1:\d+)/")
GATEWAY_LINE = re.compile(r"^test gateway: (http://127\.0\.0\.1:\d+)$")
# The simulated people's texts that need a fieldworker (the plain STOP is an opt-out, not a conversation).
WAITING_TEXTS = ("laten testen op soa", "cannot pay the rent", "stop sturen aub", "vorbește română", "Wie is dit?")


@dataclass
class Playground:
    process: subprocess.Popen[str]
    lines: queue.Queue[str]
    seen: list[str] = field(default_factory=list)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 120) -> re.Match[str]:
        """The first line (from the start) matching pattern; fails with the output so far if it never comes."""
        for line in self.seen:
            if found := pattern.search(line):
                return found
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if found := pattern.search(line):
                return found
        raise AssertionError(f"no line matching {pattern.pattern!r}; output:\n" + "\n".join(self.seen))

    def output(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "\n".join(self.seen)


@contextmanager
def playground(tmp_path: Path, *extra: str) -> Iterator[Playground]:
    """`outreach demo --serve` on a small fixture world, simulated answers every half second, in its own process
    group (so that a left-over child would be found)."""
    config = tmp_path / "outreach.yaml"
    config.write_text("language:\n  detector: langdetect\n", encoding="utf-8")  # the fastest detector to load
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "TWILIO_"))}
    env |= {"OUTREACH_CONFIG": str(config), "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost"}
    command = [sys.executable, "-m", "outreach", "demo", "--serve", "--dir", str(tmp_path / "demo"), "--adverts", "60"]
    process = subprocess.Popen(
        [*command, "--answer-every", "0.5", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    try:
        yield Playground(process, lines)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


class Browser:
    """A dashboard client over plain http on 127.0.0.1. The session cookie is Secure: browsers send it to
    127.0.0.1 (a secure context), httpx does not, so the cookies are kept here."""

    def __init__(self, url: str) -> None:
        self.client = httpx2.Client(base_url=url, follow_redirects=False, timeout=10)
        self.cookies: dict[str, str] = {}

    def _keep(self, response: httpx2.Response) -> httpx2.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        return response

    def _headers(self) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def get(self, path: str) -> httpx2.Response:
        return self._keep(self.client.get(path, headers=self._headers()))

    def post(self, path: str, data: dict[str, str]) -> httpx2.Response:
        return self._keep(self.client.post(path, data=data, headers=self._headers()))

    @staticmethod
    def csrf(html: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found, "no CSRF token in the page"
        return found[1]


def conversations(browser: Browser) -> dict[int, str]:
    """The open cases, each with the person's last message (from its case page)."""
    listing = browser.get("/cases?view=open")
    assert listing.status_code == 200, listing.text
    found = {}
    for case in dict.fromkeys(int(n) for n in re.findall(r'href="/cases/(\d+)"', listing.text)):
        page = browser.get(f"/cases/{case}").text
        texts = re.findall(r'<li class="message in">.*?<p class="text">(.*?)</p>', page, re.DOTALL)
        found[case] = html.unescape(texts[-1]) if texts else ""
    return found


def missing_texts(conversations: dict[int, str]) -> list[str]:
    return [text for text in WAITING_TEXTS if not any(text in last for last in conversations.values())]


def gateway_total(gateway_url: str) -> int:
    with urllib.request.urlopen(f"{gateway_url}/_test/stats", timeout=10) as response:  # noqa: S310 - 127.0.0.1
        return sum(json.loads(response.read())["per_number"].values())


@pytest.mark.slow  # 9 s on an idle machine, 16 s on a busy one: the demo cycle is most of it
def test_a_trainee_logs_in_sees_the_simulated_answers_and_answers_one_then_ctrl_c_stops_it_all(
    tmp_path: Path,
) -> None:
    port = free_port()
    with playground(tmp_path, "--port", str(port)) as world:
        url = world.wait_for(DASHBOARD_LINE)[1]
        assert url == f"http://127.0.0.1:{port}"
        assert "ground truth expects 33: match" in world.output()  # the demo cycle as `outreach demo` runs it
        gateway_url = world.wait_for(GATEWAY_LINE)[1]
        world.wait_for(re.compile(r"Ctrl-C stops everything"))  # printed after the passwords
        passwords = {m[1]: m[3] for line in world.seen if (m := PASSWORD_LINE.match(line))}
        assert sorted(passwords) == ["demo-fieldworker", "demo-fieldworker-2", "demo-supervisor"]
        assert len(set(passwords.values())) == 3 and all(len(p) >= 12 for p in passwords.values())

        browser = Browser(url)
        page = browser.get("/login")
        wrong = browser.post("/login", {"csrf": browser.csrf(page.text), "name": "demo-fieldworker", "password": "x"})
        assert wrong.status_code == 401
        logged_in = browser.post(
            "/login",
            {"csrf": browser.csrf(wrong.text), "name": "demo-fieldworker", "password": passwords["demo-fieldworker"]},
        )
        assert logged_in.status_code == 303, logged_in.text

        # The simulated people's answers open conversations (all five that need a fieldworker) within seconds; the
        # plain STOP's is closed at once and shows the opt-out.
        deadline = time.monotonic() + 30
        pages = conversations(browser)
        while missing_texts(pages) and time.monotonic() < deadline:
            time.sleep(0.3)
            pages = conversations(browser)
        missing = missing_texts(pages)
        assert not missing, f"no open conversation with: {missing}\n{world.output()}"
        assert world.wait_for(re.compile(r"wrote: an opt-out; see the dashboard"))

        # An answer typed on a case page leaves for the gateway at once, without any cycle or `outreach send`.
        case = next(case for case, text in pages.items() if "Wie is dit?" in text)
        page = browser.get(f"/cases/{case}")
        before = gateway_total(gateway_url)
        sent_at = time.monotonic()
        answer = browser.post(
            f"/cases/{case}/reply", {"csrf": browser.csrf(page.text), "body": "Hoi, ja dat kan. Groet, Sanne"}
        )
        assert answer.status_code == 303 and f"/cases/{case}?sent=" in answer.headers["location"]
        if "queued=" not in answer.headers["location"]:  # else the playground's own drain took it a moment earlier
            assert gateway_total(gateway_url) == before + 1, "not handed to the gateway within the request"
        while gateway_total(gateway_url) == before and time.monotonic() - sent_at < 15:
            time.sleep(0.1)
        took = time.monotonic() - sent_at
        assert gateway_total(gateway_url) == before + 1, "the answer never reached the test gateway"
        assert took < 5, f"the answer took {took:.1f} s to reach the gateway"
        world.wait_for(re.compile(r"the test gateway received a message for \+"))

        world.process.send_signal(signal.SIGINT)
        assert world.process.wait(30) == 0, world.output()
        world.wait_for(re.compile(r"^playground stopped$"))
        assert not group_alive(world.process.pid), "a process of the playground outlived it"
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        assert "Traceback" not in world.output()


def test_sigterm_stops_the_playground_cleanly(tmp_path: Path) -> None:
    with playground(tmp_path) as world:
        url = world.wait_for(DASHBOARD_LINE)[1]
        world.wait_for(re.compile(r"demo-supervisor\s+supervisor\s+password: "))
        world.wait_for(re.compile(r"wrote: a question about health"))  # the simulator is running
        world.process.send_signal(signal.SIGTERM)
        assert world.process.wait(30) == 0, world.output()
        assert not group_alive(world.process.pid)
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        assert "Traceback" not in world.output()


def test_a_busy_port_is_refused_before_the_cycle(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with playground(tmp_path, "--port", str(port)) as world:
            assert world.process.wait(60) == 2
            output = world.output()
    assert f"error: --port {port}: cannot listen on 127.0.0.1:{port}" in output
    assert "Cycle" not in output and not (tmp_path / "demo" / "outreach.db").exists()
