"""The garbage collector's settings once a `wf` process has started."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from wfapp.lifecycle import YOUNG_COLLECTION_THRESHOLD, settle_garbage_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_startup_objects_are_frozen_and_young_objects_collected_less_often() -> None:
    _, middle, old = gc.get_threshold()
    startup_object: list[object] = ["made at startup"]
    assert gc.is_tracked(startup_object)

    settle_garbage_collector()

    assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, middle, old)
    assert YOUNG_COLLECTION_THRESHOLD > 700  # the interpreter's default up to Python 3.13
    assert all(tracked is not startup_object for tracked in gc.get_objects())  # frozen: no collection walks it
