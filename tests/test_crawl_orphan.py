"""A crawl child whose cycle died while the child was still starting (importing Scrapy takes seconds) stops at once:
it knows its parent from the command line, not from the OS after its imports, when it has already been adopted."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from outreach.store.db import Store
from outreach.store.models import CrawlRun
from outreach.store.states import CrawlRunStatus
from tests.crawling import crawl_settings
from testworld.fixture_site import FixtureSite

# A stand-in for the cycle: starts the crawl child exactly as the cycle does, hands it the settings, and dies at
# once, long before the child has imported Scrapy. It dies without closing the child's stdin itself: the child reads
# the settings to their end, and the end comes only as the kernel closes the launcher's descriptors on its exit, so
# the child cannot get past reading them while its parent still lives (on a loaded machine, a launcher that closed
# stdin and then took its time to shut its interpreter down was still alive at the child's first check).
LAUNCHER = textwrap.dedent(
    """
    import os, subprocess, sys
    from outreach.cycle.crawl import crawl_command
    child = subprocess.Popen(crawl_command(int(sys.argv[1])), stdin=subprocess.PIPE, stdout=open(sys.argv[2], "w"),
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    print(child.pid, flush=True)
    child.stdin.write(sys.stdin.read())
    child.stdin.flush()
    os._exit(0)
    """
)


def test_a_crawl_child_whose_cycle_died_during_its_start_never_crawls(tmp_path: Path) -> None:
    settings = crawl_settings(tmp_path)
    with FixtureSite(seed=3, count=20) as site, Store(settings.database_url) as store:
        site.write_site_file(tmp_path / "sites")
        with store.session() as session:
            run = CrawlRun(status=CrawlRunStatus.RUNNING, stats={})
            session.add(run)
            session.flush()
            run_id = run.id
        launched = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(run_id), str(tmp_path / "child.log")],
            input=settings.for_child(),
            capture_output=True,
            text=True,
            check=True,
        )
        child = int(launched.stdout.strip())
        deadline = time.monotonic() + 60
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = _alive(child)
        if alive:
            subprocess.run(["kill", "-9", str(child)], check=False)
        log = (tmp_path / "child.log").read_text(encoding="utf-8")
        assert not alive, f"the orphaned crawl child was still running after 60 s:\n{log[-2000:]}"
        assert "the parent process" in log and "is gone" in log
        assert site.requests_to("/advertentie") == []  # not one advert fetched


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
