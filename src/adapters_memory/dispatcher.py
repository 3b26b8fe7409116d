"""The embedded mode's dispatcher: a notification to the workers in this process.

It carries no truth: the dispatch is committed to the outbox with the run, and a sweep finds any
run whose notification was lost (a crash between commit and notify, a full queue).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import Dispatch, DispatchKind


class InProcessDispatcher:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[RunId] = asyncio.Queue()
        self._cancel_listeners: list[Callable[[RunId], None]] = []

    async def notify(self, dispatch: Dispatch) -> None:
        if dispatch.kind is DispatchKind.START:
            self._queue.put_nowait(dispatch.run_id)
        else:
            for listener in self._cancel_listeners:
                listener(dispatch.run_id)

    def on_cancel(self, listener: Callable[[RunId], None]) -> None:
        self._cancel_listeners.append(listener)

    async def next_run(self) -> RunId:
        return await self._queue.get()
