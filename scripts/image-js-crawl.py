"""One JavaScript crawl inside the image, as its user: scripts/image-check pipes this to `python -` in a container.

The test world's JavaScript layout (an age gate clicked away, adverts rendered from a JSON API, each number behind a
"show number" click) is served on 127.0.0.1 inside the container; `outreach config check` must start the browser,
and `outreach crawl` must store every advert the site shows, with health ok. Exit 0 when all of that held.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from outreach.crypto import new_keys
from outreach.store.db import Store
from outreach.store.models import Advert
from testworld.fixture_site import FixtureSite

ADVERTS = 20


def outreach(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    done = subprocess.run(["outreach", *args], env=env, capture_output=True, text=True, timeout=600, check=False)
    print(f"outreach {' '.join(args)}: exit {done.returncode} in {time.monotonic() - started:.1f}s", flush=True)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
    return done


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="outreach-js-"))
    hmac_key, fernet_key = new_keys()
    database_url = f"sqlite:///{folder / 'outreach.db'}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("OUTREACH_")}
    env.update(
        OUTREACH_DATABASE_URL=database_url,
        OUTREACH_HMAC_KEY=hmac_key,
        OUTREACH_FERNET_KEY=fernet_key,
        OUTREACH_SITES_DIR=str(folder / "sites"),
        OUTREACH_LOG_DIR=str(folder / "log"),
        NO_PROXY="127.0.0.1,localhost",
    )
    print(f"running as uid {os.getuid()}, gid {os.getgid()}", flush=True)
    with FixtureSite(seed=12, count=ADVERTS, layout="js") as site:
        site.write_site_file(folder / "sites", name="jsapp")
        for step in (("db", "upgrade"), ("config", "check"), ("crawl", "--site", "jsapp")):
            if outreach(env, *step).returncode != 0:
                return 1
        status = outreach(env, "status", "--json")
        health = json.loads(status.stdout)["sites"]["jsapp"]["health"]
        with Store(database_url) as store, store.session() as session:
            stored = session.execute(select(func.count(Advert.id))).scalar_one()
        print(f"jsapp: health {health}, {stored} of {ADVERTS} adverts stored", flush=True)
        return 0 if health == "ok" and stored == ADVERTS else 1


if __name__ == "__main__":
    sys.exit(main())
