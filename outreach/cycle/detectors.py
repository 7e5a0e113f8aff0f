"""The language detector a running scheduler keeps from one cycle to the next.

Loading the detector's models takes one to three seconds and about 30 MB. Loaded again every cycle, from whichever of
APScheduler's worker threads ran it, the freed models left holes in that thread's malloc arena, and the scheduler's
memory grew by a step each time a cycle ran on another thread (bench/scheduler_day.py). The configuration is read
again every cycle, so a changed `language:` (or languages, fallback) loads a new detector.
"""

from __future__ import annotations

import threading

from messaging.language import make_detector
from messaging.language.protocol import LanguageDetector
from outreach.settings import Settings


class DetectorCache:
    def __init__(self) -> None:
        self._key: str | None = None
        self._detector: LanguageDetector | None = None
        self._lock = threading.Lock()
        self.loads = 0  # how many times a detector was built: once, unless the configuration changed

    def get(self, settings: Settings) -> LanguageDetector:
        key = "|".join((settings.language.model_dump_json(), ",".join(settings.languages), settings.fallback_language))
        with self._lock:
            if self._detector is None or key != self._key:
                self._detector = None  # the old models go before the new ones load
                self._detector = make_detector(settings)
                self._key = key
                self.loads += 1
            return self._detector
