"""Start chromium once the way a crawl does, render a line of JavaScript, and print the browser's version.

`outreach config check` runs this in a child process (`python -m outreach.config.browser_probe`, launch options as
JSON on stdin): Playwright's node driver prints its own failure on stderr (`error while loading shared libraries:
libatomic.so.1`), which only a parent can read, and a browser that hangs can be killed with the child.
"""

from __future__ import annotations

import json
import sys
from typing import Any

RENDER_TEST = "<p id='probe'></p><script>document.getElementById('probe').textContent = 'rendered'</script>"


def probe(launch_options: dict[str, Any]) -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options)
        try:
            page = browser.new_page()
            page.set_content(RENDER_TEST)
            if page.text_content("#probe") != "rendered":
                raise RuntimeError("chromium started but ran no JavaScript")
            return str(browser.version)
        finally:
            browser.close()


def main() -> None:
    try:
        print(probe(json.loads(sys.stdin.read())))
    except Exception as exc:  # the parent reports it as the browser part's failure
        first_line = next(iter(str(exc).strip().splitlines()), "")
        print(f"error: {type(exc).__name__}: {first_line}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
