"""The monitor pauses the cyclic garbage collector only for the run, whatever happens."""

from __future__ import annotations

import gc

import pytest

from inventory.services.monitor import cyclic_gc_paused


def test_the_collector_is_off_during_the_run_and_on_again_after_it() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_failing_run_turns_the_collector_on_again() -> None:
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
