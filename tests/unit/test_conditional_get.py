"""If-None-Match matching (RFC 9110 §13.1.2) and the versioned cache, on plain values."""

from __future__ import annotations

import pytest

from inventory.http_conditional import if_none_match_matches
from inventory.services.availability_cache import VersionedCache, etag_of

TAG = '"3f2a"'


@pytest.mark.parametrize(
    "header",
    [
        '"3f2a"',
        'W/"3f2a"',  # weak comparison: W/ is ignored
        '"old", "3f2a"',
        '"old",W/"3f2a" , "older"',
        "*",
        '  "3f2a"  ',
    ],
)
def test_if_none_match_naming_the_current_tag_matches(header: str) -> None:
    assert if_none_match_matches(header, TAG)


@pytest.mark.parametrize(
    "header",
    [None, "", '"3f2b"', "3f2a", '"3f2a', '"a,b"', '"old", "older"', "W/3f2a", "**"],
)
def test_if_none_match_not_naming_the_current_tag_does_not_match(header: str | None) -> None:
    assert not if_none_match_matches(header, TAG)


def test_weak_current_tag_matches_its_strong_form() -> None:
    assert if_none_match_matches('"3f2a"', 'W/"3f2a"')


def test_tag_containing_a_comma_is_one_tag() -> None:
    assert if_none_match_matches('"x", "a,b"', '"a,b"')


def test_etag_is_a_quoted_digest_of_the_bytes() -> None:
    assert etag_of(b"[]") == etag_of(b"[]")
    assert etag_of(b"[]") != etag_of(b"[1]")
    assert etag_of(b"[]").startswith('"')
    assert etag_of(b"[]").endswith('"')


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingLoader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> list[int]:
        self.calls += 1
        return [self.calls]


def _fetch(
    cache: VersionedCache, load: CountingLoader, version: int, ttl: float = 300
) -> list[int]:
    entry = cache.fetch("all", version, ttl, load, lambda value: repr(value).encode())
    return entry.value


def test_same_version_within_ttl_is_served_from_the_cache() -> None:
    cache, load = VersionedCache(clock=FakeClock()), CountingLoader()
    assert _fetch(cache, load, 7) == [1]
    assert _fetch(cache, load, 7) == [1]
    assert load.calls == 1


def test_new_version_reloads_at_once() -> None:
    cache, load = VersionedCache(clock=FakeClock()), CountingLoader()
    _fetch(cache, load, 7)
    assert _fetch(cache, load, 8) == [2]


def test_ttl_expiry_reloads_even_without_a_change() -> None:
    clock = FakeClock()
    cache, load = VersionedCache(clock=clock), CountingLoader()
    _fetch(cache, load, 7, ttl=300)
    clock.now += 299.9
    assert _fetch(cache, load, 7, ttl=300) == [1]
    clock.now += 0.1
    assert _fetch(cache, load, 7, ttl=300) == [2]


def test_ttl_zero_never_serves_from_the_cache() -> None:
    cache, load = VersionedCache(clock=FakeClock()), CountingLoader()
    _fetch(cache, load, 7, ttl=0)
    assert _fetch(cache, load, 7, ttl=0) == [2]


def test_a_failed_load_caches_nothing() -> None:
    cache = VersionedCache(clock=FakeClock())

    def fail() -> list[int]:
        raise LookupError("gone")

    with pytest.raises(LookupError):
        cache.fetch("one", 7, 300, fail, lambda value: b"")
    assert len(cache) == 0


def test_least_recently_used_entries_are_evicted_beyond_the_bound() -> None:
    cache, load = VersionedCache(clock=FakeClock(), max_entries=2), CountingLoader()
    for key in ("a", "b"):
        cache.fetch(key, 1, 300, load, lambda value: b"")
    cache.fetch("a", 1, 300, load, lambda value: b"")  # "a" is now the most recent
    cache.fetch("c", 1, 300, load, lambda value: b"")  # evicts "b"
    assert len(cache) == 2
    calls = load.calls
    cache.fetch("a", 1, 300, load, lambda value: b"")
    assert load.calls == calls
    cache.fetch("b", 1, 300, load, lambda value: b"")
    assert load.calls == calls + 1


def test_etag_follows_the_representation_not_the_version() -> None:
    cache = VersionedCache(clock=FakeClock())
    first = cache.fetch("all", 1, 300, lambda: [1], lambda value: repr(value).encode())
    same = cache.fetch("all", 2, 300, lambda: [1], lambda value: repr(value).encode())
    other = cache.fetch("all", 3, 300, lambda: [2], lambda value: repr(value).encode())
    assert first.etag == same.etag != other.etag
