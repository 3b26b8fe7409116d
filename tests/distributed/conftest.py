"""The distributed stack for one test: `stack` on the session's broker, `stack_on_own_broker` on one it may stop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from distributed.stack import Stack
from fixtures.kafka import TansuBroker


@pytest.fixture
async def stack(tmp_path: Path, migrated_postgres_url: str, kafka_bootstrap: str) -> AsyncIterator[Stack]:
    """A stack on the session's broker (topics and group of its own), with its API started."""
    running = Stack(tmp_path=tmp_path, database_url=migrated_postgres_url, bootstrap=kafka_bootstrap)
    try:
        await running.start_api()
        yield running
    finally:
        await running.close()


@pytest.fixture
async def stack_on_own_broker(
    tmp_path: Path, migrated_postgres_url: str, kafka_broker: TansuBroker
) -> AsyncIterator[Stack]:
    """A stack on a broker of the test's own (`kafka_broker`), which the test may stop and start."""
    running = Stack(tmp_path=tmp_path, database_url=migrated_postgres_url, bootstrap=kafka_broker.bootstrap)
    try:
        await running.start_api()
        yield running
    finally:
        await running.close()
