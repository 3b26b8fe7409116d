from __future__ import annotations

import pytest

from unit.harness import Harness


@pytest.fixture(params=["locked writes", "unlocked writes"])
def harness(request: pytest.FixtureRequest) -> Harness:
    """The engine's writes each way: every one locking its run first, or unlocked while the run is unchanged."""
    return Harness.build(unlocked_writes=request.param == "unlocked writes")
