"""The send policy of the test world and the demo: open all day (they run at any hour) and fast (the gateway is
local). Tests that are about the policy set their own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from testworld.twilio_gateway import TwilioGateway

WORLD_SENDING: dict[str, object] = {
    "window_start": "00:00",
    "window_end": "00:00",
    "per_second": 100,
    "cycle_cap": 100_000,
    "daily_cap": 100_000,
}


def world_overrides(folder: Path, gateway: TwilioGateway) -> dict[str, Any]:
    """Settings that point outreach at the test world: site files and logs in `folder`, the gateway, sending on."""
    return {
        "sites_dir": folder / "sites",
        "log_dir": folder / "log",
        "dry_run": False,
        "twilio": gateway.twilio_settings(),
        "sending": WORLD_SENDING,
    }
