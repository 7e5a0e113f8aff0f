"""Scrapy's log lines without the items: an advert item holds its text and the numbers in its links, and the crawl
log must hold no personal data. Items are named by their URL only."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.http import Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure


def _name(item: Any) -> str:
    return f"{type(item).__name__} {getattr(item, 'url', '')}".strip()


def _without_item(result: LogFormatterResult, item: Any) -> LogFormatterResult:
    args = result["args"]
    assert isinstance(args, dict)
    result["args"] = {**args, "item": _name(item)}
    return result


class PrivateLogFormatter(LogFormatter):
    def scraped(self, item: Any, response: Response | Failure | None, spider: Spider) -> LogFormatterResult:
        result = super().scraped(item, response, spider)
        return _without_item(result, item)

    def dropped(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        return _without_item(result, item)

    def item_error(
        self, item: Any, exception: BaseException, response: Response | Failure | None, spider: Spider
    ) -> LogFormatterResult:
        result = super().item_error(item, exception, response, spider)
        return _without_item(result, item)
