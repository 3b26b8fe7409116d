from __future__ import annotations

import pytest

from unit.harness import Harness


@pytest.fixture(params=["as on SQLite", "as on PostgreSQL"])
def harness(request: pytest.FixtureRequest) -> Harness:
    """The engine each way: claims in one transaction and every write locking its run first (as on SQLite), or
    claims in two statements, writes unlocked while the run is unchanged and runs started in one step (as on
    PostgreSQL)."""
    return Harness.build(as_on_postgres=request.param == "as on PostgreSQL")
