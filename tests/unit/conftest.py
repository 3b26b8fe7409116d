from __future__ import annotations

import pytest

from unit.harness import Harness


@pytest.fixture
def harness() -> Harness:
    return Harness.build()
