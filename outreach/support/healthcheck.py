"""`python -m outreach.support.healthcheck`: the container's HEALTHCHECK. Exit 0 when `outreach serve` answers
/healthz on this machine at the configured web.port, else 1 with one line saying why.

It reads the same settings as `outreach serve` (file and OUTREACH_* environment), so a port changed in either place
is followed; it asks 127.0.0.1 because inside the container the server listens on every address.
"""

from __future__ import annotations

import sys
import urllib.request

from outreach.errors import OutreachError
from outreach.settings import load_settings

TIMEOUT_SECONDS = 4


def check(port: int) -> str | None:
    """None when healthy, else the reason."""
    url = f"http://127.0.0.1:{port}/healthz"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an HTTP_PROXY
    try:
        with direct.open(url, timeout=TIMEOUT_SECONDS) as response:
            return None if response.status == 200 else f"{url} answered {response.status}"
    except OSError as exc:  # URLError included
        return f"{url}: {getattr(exc, 'reason', exc)}"


def main() -> int:
    try:
        settings = load_settings()
    except OutreachError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    problem = check(settings.web.port)
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
