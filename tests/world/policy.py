"""The send policy of the test world and the demo: open all day (they run at any hour) and fast (the gateway is
local). Tests that are about the policy set their own."""

from __future__ import annotations

WORLD_SENDING: dict[str, object] = {
    "window_start": "00:00",
    "window_end": "00:00",
    "per_second": 100,
    "cycle_cap": 100_000,
    "daily_cap": 100_000,
}
