"""Packing the cooldown digest: pure, no I/O."""

from __future__ import annotations

import uuid

import pytest

from inventory.data.cooldowns.dynamodb_digest import (
    ENTRIES_PER_CHUNK,
    DigestFormatError,
    decode,
    encode,
)
from inventory.rules.alert_types import CooldownKey, NotificationType

TYPES = [t.value for t in NotificationType]


def test_entries_survive_a_round_trip_with_every_type() -> None:
    entries = {
        CooldownKey(kind, uuid.uuid4()): 1_761_048_000 + index
        for index, kind in enumerate(NotificationType)
    }

    assert decode(encode(entries, TYPES), TYPES) == entries


def test_large_digests_are_split_into_chunks_below_the_item_limit() -> None:
    entries = {
        CooldownKey(NotificationType.PACKAGE_UNAVAILABLE, uuid.uuid4()): 2_000_000_000
        for _ in range(ENTRIES_PER_CHUNK + 1)
    }

    chunks = encode(entries, TYPES)

    assert len(chunks) == 2
    assert max(len(chunk) for chunk in chunks) < 350_000  # DynamoDB items hold 400 KB
    assert decode(chunks, TYPES) == entries


def test_type_codes_are_read_with_the_writer_s_type_list() -> None:
    entry = CooldownKey(NotificationType.STOCKOUT_PREDICTED, uuid.uuid4())
    reordered = list(reversed(TYPES))

    assert decode(encode({entry: 5}, reordered), reordered) == {entry: 5}


def test_a_truncated_chunk_is_refused() -> None:
    [chunk] = encode({CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.uuid4()): 1}, TYPES)

    with pytest.raises(DigestFormatError):
        decode([chunk[:-1]], TYPES)


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(DigestFormatError):
        decode([], ["package_vanished"])


def test_decoded_entries_answer_lookups_by_cooldown_key() -> None:
    reference = uuid.uuid4()
    low = CooldownKey(NotificationType.PACKAGE_LOW_STOCK, reference)
    entries = decode(encode({low: 7}, TYPES), TYPES)
    # Equal keys built apart (as the rules build them) find the entry.
    again = CooldownKey(NotificationType.PACKAGE_LOW_STOCK, uuid.UUID(str(reference)))
    # The same reference under another type is another key.
    other_type = CooldownKey(NotificationType.PACKAGE_UNAVAILABLE, reference)

    assert (entries.get(again), entries[again], again in entries) == (7, 7, True)
    assert (entries.get(other_type, 0), other_type in entries) == (0, False)
    assert object() not in entries
    with pytest.raises(KeyError):
        entries[other_type]
    assert (list(entries), len(entries), dict(entries.items())) == ([low], 1, {low: 7})
