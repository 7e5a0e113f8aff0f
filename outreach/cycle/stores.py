"""The database Store a running scheduler keeps from one job to the next.

SQLAlchemy's ORM keeps the statements of a flush in a cache on each mapper (an LRU of 100 to 150 entries), keyed
by the engine's dialect object. With a new Store, so a new engine and a new dialect, in every job, each cycle
compiled its inserts and updates again under a new key, and the cache held on to that cycle's dialect and
everything hanging from it (its type and statement caches): one dialect, five compiled statements and about 200
dicts more per cycle, freed only when the LRU evicted them a few hundred cycles later (bench/scheduler_day.py). One
engine per database for the life of the scheduler compiles them once.

The pool is still emptied when the last job using the Store ends, so no connection stays open between two cycles;
not while another job (the escalation check beside a cycle) still has a connection out, which would then go back
to a pool nobody closes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from outreach.store.db import Store


class StoreCache:
    def __init__(self) -> None:
        self._stores: dict[str, Store] = {}
        self._users: dict[str, int] = {}
        self._latest = ""
        self._lock = threading.Lock()

    @contextmanager
    def use(self, url: str) -> Iterator[Store]:
        """The Store of `url` for one job. A changed database_url gets a new Store; the old one goes when its last
        job ends."""
        with self._lock:
            self._latest = url
            store = self._stores.get(url)
            if store is None:
                store = self._stores[url] = Store(url)
            self._users[url] = self._users.get(url, 0) + 1
        try:
            yield store
        finally:
            with self._lock:
                self._users[url] -= 1
                if not self._users[url]:
                    store.close()  # the pooled connections; the engine and what is compiled on it stay
                    if url != self._latest:
                        del self._stores[url], self._users[url]
