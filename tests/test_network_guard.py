"""Offline by construction: a real crawl contacts no host but the fixture site on this machine, and the network
guard (tests/network_guard.py) that checks it refuses other hosts before anything leaves, here and in child
processes.

192.0.2.1 is in TEST-NET-1 (RFC 5737) and example.org is reserved (RFC 2606): neither would answer anyway."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests import loopback_only
from tests.crawling import crawl, crawl_settings
from tests.network_guard import Attempts
from testworld.fixture_site import FixtureSite

TEST_NET_1 = "192.0.2.1"
FAST = {"requests_per_second": 500, "delay_seconds": 0, "concurrency": 4}


def _never(name: str, made: list[str]) -> Any:
    """Stands in for a real socket function: if the guard let a call through, it is noted here and goes no
    further."""

    def real(*args: Any) -> NoReturn:
        made.append(f"{name}{args[1:] if name in ('connect', 'connect_ex', 'sendto') else args}")
        raise AssertionError(f"the guard let {name} through")

    return real


def test_the_guard_refuses_a_connection_to_another_host_before_it_is_made(
    network_attempts: Attempts, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert loopback_only.installed()  # else the calls below would really be made
    made: list[str] = []
    for name in ("connect", "connect_ex", "sendto", "getaddrinfo"):
        monkeypatch.setitem(loopback_only.ORIGINAL, name, _never(name, made))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        with pytest.raises(loopback_only.NetworkRefused):
            tcp.connect((TEST_NET_1, 80))
        with pytest.raises(loopback_only.NetworkRefused):
            tcp.connect_ex((TEST_NET_1, 443))
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as tcp6, pytest.raises(loopback_only.NetworkRefused):
        tcp6.connect(("2001:db8::1", 80, 0, 0))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(loopback_only.NetworkRefused):
        udp.sendto(b"query", (TEST_NET_1, 53))
    with pytest.raises(loopback_only.NetworkRefused):
        socket.create_connection((TEST_NET_1, 80), timeout=1)
    assert made == []
    refused = [(entry["call"], entry["target"]) for entry in network_attempts.take()]
    assert refused == [
        ("connect", "('192.0.2.1', 80)"),
        ("connect", "('192.0.2.1', 443)"),
        ("connect", "('2001:db8::1', 80, 0, 0)"),
        ("sendto", "('192.0.2.1', 53)"),
        ("getaddrinfo", "'192.0.2.1'"),
    ]


def test_the_guard_refuses_to_look_up_other_hosts(network_attempts: Attempts, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
        monkeypatch.setitem(loopback_only.ORIGINAL, name, _never(name, made))
    with pytest.raises(socket.gaierror):  # as when offline: callers handle it as they would then
        socket.getaddrinfo("example.org", 443)
    for lookup, argument in [
        (socket.gethostbyname, "example.org"),
        (socket.gethostbyname_ex, "example.org"),
        (socket.gethostbyaddr, TEST_NET_1),
    ]:
        with pytest.raises(loopback_only.NetworkRefused):
            lookup(argument)
    with pytest.raises(loopback_only.NetworkRefused):
        socket.getnameinfo((TEST_NET_1, 80), 0)
    assert made == []
    assert [entry["call"] for entry in network_attempts.take()] == [
        "getaddrinfo",
        "gethostbyname",
        "gethostbyname_ex",
        "gethostbyaddr",
        "getnameinfo",
    ]


def test_this_machine_can_still_be_contacted(network_attempts: Attempts) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, port), timeout=5):
                pass
    assert socket.gethostbyname("localhost").startswith("127.")
    assert loopback_only.is_local("::1") and loopback_only.is_local("::ffff:127.0.0.1")
    assert not loopback_only.is_local("10.0.0.1") and not loopback_only.is_local("example.org")
    assert network_attempts.take() == []


CHILD = textwrap.dedent(
    """
    import socket, sys
    guard = sys.modules.get("network_guard_loopback_only")
    if guard is None or not guard.installed():
        sys.exit(3)  # not guarded: try nothing
    def real_connect(*args):
        sys.exit(4)  # the guard let it through: go no further
    guard.ORIGINAL["connect"] = real_connect
    try:
        socket.socket().connect(("192.0.2.1", 80))
    except guard.NetworkRefused:
        print("refused")
    """
)


def test_a_python_child_process_is_guarded_too(network_attempts: Attempts) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "refused"), done.stderr
    refused = network_attempts.take()
    assert [(entry["call"], entry["target"]) for entry in refused] == [("connect", "('192.0.2.1', 80)")]
    assert refused[0]["pid"] != os.getpid()


def test_a_crawl_contacts_only_the_fixture_site_and_fetches_no_public_suffix_list(
    tmp_path: Path, network_attempts: Attempts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The profiles layout sets a cookie (its age gate): Scrapy's cookie handling asks tldextract whether the
    cookie's domain is a public suffix, which made it download the public-suffix list on a machine's first crawl
    (and cache it in ~/.cache). A fresh cache folder stands for that first crawl; nothing may be written to it."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv("TLDEXTRACT_CACHE", raising=False)
    with FixtureSite(seed=12, count=10, layout="profiles") as site:
        site.write_site_file(tmp_path / "sites", name="profiles", rate_limit=FAST)
        crawled = crawl(crawl_settings(tmp_path), "profiles")
        gated = [request for request in site.requests if request.path.startswith("/profiel/")]
    assert crawled.count("adverts_new") == 10 and gated  # through the age gate, so with its cookie
    assert network_attempts.take() == []
    children = [entry["argv"] for entry in network_attempts.installed if "crawler" in entry["argv"]]
    assert children, "the crawl child ran without the network guard"
    log = crawled.outcome.log_file.read_text(encoding="utf-8")
    assert "tldextract" not in log and "public_suffix_list" not in log and "Traceback" not in log, log
    assert not cache.exists() or not any(cache.iterdir())
