"""A spider middleware that catches what a spider callback raises, so no advert is lost to an exception.

Scrapy hands an exception raised in a callback to the spider middlewares' `process_spider_exception`, never to the
request's errback. Here the spider decides: the advert a reveal was completing is stored without its number, and
everything else is counted with its first URL (crawler/health.py turns the counts into the run's health).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from scrapy import Spider
from scrapy.http import Response

logger = logging.getLogger(__name__)


class CallbackErrors:
    def process_spider_exception(self, response: Response, exception: Exception, spider: Spider) -> Iterable[Any]:
        handler = getattr(spider, "callback_failed", None)
        if handler is None:
            return []
        results: Iterable[Any] = handler(response, exception)
        return results
