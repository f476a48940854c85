"""Availability answers cached in the container, never served after a committed change.

Each request reads the catalogue version (one primary-key lookup). A cached answer is served
only while its version is still the current one and it is younger than the TTL; otherwise it
is recomputed. The version is read BEFORE the answer is computed: a change committed in
between makes the answer newer than its version, never older, and the next request sees a
higher version and recomputes. So a stale answer is never served, and a warm request with no
change costs exactly that one query.

The ETag is a digest of the representation, so it changes whenever what the client would see
changes (data, threshold, a new release's shape) and stays equal, across containers, when it
does not: an unrelated stock change still answers 304 for a package it does not touch.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

import psycopg
from pydantic import TypeAdapter

from inventory.config import get_settings
from inventory.data.catalog_version import read_catalog_version
from inventory.models.availability import AvailabilityItem
from inventory.models.numbers import exact_json
from inventory.services import availability
from inventory.services.availability_pages import Page, SortKey, whole_list_can_fit

T = TypeVar("T")

_DEFAULT_MAX_ENTRIES = 1024
_ITEM_LIST = TypeAdapter(list[AvailabilityItem])


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """An answer with its JSON representation and ETag, the catalogue version it was read at
    and when (clock units). The representation is kept so a warm hit serialises nothing."""

    value: T
    representation: bytes
    etag: str
    version: int
    loaded_at: float


def etag_of(representation: bytes) -> str:
    """A strong entity tag for these exact bytes."""
    return '"' + hashlib.sha256(representation).hexdigest()[:32] + '"'


class VersionedCache:
    """Answers by key, trusted while the catalogue version is unchanged and within the TTL.

    Bounded (least recently used entries go first) because one key exists per package id
    asked for. Thread-safe for the local server; the database read happens outside the lock.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = _DEFAULT_MAX_ENTRIES,
    ) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[Hashable, Cached[Any]] = OrderedDict()
        self._lock = threading.Lock()

    def fetch(
        self,
        key: Hashable,
        version: int,
        ttl_seconds: float,
        load: Callable[[], T],
        represent: Callable[[T], bytes],
    ) -> Cached[T]:
        """The cached answer for `key` if still good at `version`, else a freshly loaded one."""
        now = self._clock()
        entry = self._current(key, version, ttl_seconds, now)
        if entry is not None:
            return cast(Cached[T], entry)
        value = load()
        representation = represent(value)
        fresh = Cached(
            value=value,
            representation=representation,
            etag=etag_of(representation),
            version=version,
            loaded_at=now,
        )
        with self._lock:
            self._entries[key] = fresh
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return fresh

    def peek(self, key: Hashable, version: int, ttl_seconds: float) -> Cached[Any] | None:
        """The cached answer for `key` if still good at `version`; never loads."""
        return self._current(key, version, ttl_seconds, self._clock())

    def _current(
        self, key: Hashable, version: int, ttl_seconds: float, now: float
    ) -> Cached[Any] | None:
        """The entry for `key` read at `version` and younger than the TTL (marked recently
        used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version or now - entry.loaded_at >= ttl_seconds:
                return None
            self._entries.move_to_end(key)
            return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@cache
def availability_cache() -> VersionedCache:
    """The container's cache, created on first use and kept across warm invocations."""
    return VersionedCache()


def _database_of(connection: psycopg.Connection[Any]) -> tuple[str, int, str]:
    # Versions of two databases are unrelated numbers; never let one answer for the other.
    info = connection.info
    return (info.host, info.port, info.dbname)


def _scope(connection: psycopg.Connection[Any]) -> tuple[tuple[str, int, str], Decimal]:
    return (_database_of(connection), get_settings().package_low_stock_threshold)


def package_list(connection: psycopg.Connection[Any]) -> Cached[list[AvailabilityItem]]:
    """Every active package's availability, from the cache when nothing changed.

    Its one statement when nothing changed reads the version and counts the packages: a list
    too large for one response whatever it holds is refused (ResponseTooLargeError) from that
    count, before anything is computed or cached. The caller checks the bytes of the rest
    (availability_pages.whole_list_fits).
    """
    extent = availability.all_packages_extent(connection)
    whole_list_can_fit(extent.packages, extent.name_bytes)
    return availability_cache().fetch(
        ("all", _scope(connection)),
        extent.version,
        get_settings().availability_cache_ttl_seconds,
        load=lambda: [AvailabilityItem.of(a) for a in availability.all_packages(connection)],
        represent=lambda items: exact_json(_ITEM_LIST.dump_json(items)),
    )


def package_page(
    connection: psycopg.Connection[Any], after: SortKey | None, limit: int
) -> Cached[Page]:
    """The `limit` packages after the cursor key `after`, cached like the list: one version
    lookup when nothing changed, one statement reading only this page when something did."""
    version = read_catalog_version(connection)
    ttl = get_settings().availability_cache_ttl_seconds

    def load() -> Page:
        # The whole list read at this same version holds the page already; after a change,
        # only the page is read.
        whole = availability_cache().peek(("all", _scope(connection)), version, ttl)
        if whole is not None:
            return Page.from_list(whole.value, after, limit)
        items, more = availability.package_page(connection, after, limit)
        return Page.of([AvailabilityItem.of(a) for a in items], more)

    return availability_cache().fetch(
        ("page", _scope(connection), after, limit),
        version,
        ttl,
        load=load,
        represent=lambda page: page.body,
    )


def one_package(connection: psycopg.Connection[Any], package_id: UUID) -> Cached[AvailabilityItem]:
    """One package's availability (NotFoundError when unknown, which is never cached)."""
    version = read_catalog_version(connection)
    return availability_cache().fetch(
        ("one", package_id, _scope(connection)),
        version,
        get_settings().availability_cache_ttl_seconds,
        load=lambda: AvailabilityItem.of(availability.one_package(connection, package_id)),
        represent=lambda item: exact_json(item.model_dump_json().encode()),
    )
