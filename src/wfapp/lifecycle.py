"""What every `wf` process does at the edges of its life: wait for a stop signal, close connections."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal

from wfapp.container import Container

YOUNG_COLLECTION_THRESHOLD = 20_000


def settle_garbage_collector() -> None:
    """Keep what startup made out of the garbage collector's sight, and collect young objects less often.

    What startup made (modules, the container, pools, clients) lives as long as the process, yet each
    full collection would walk it all again (some 150,000 objects in a worker): a few percent of a busy
    process's CPU. Call once the process is started. What startup left unreachable is collected first,
    or it would be kept for the life of the process.

    Nearly every object a step makes is freed by its reference count, but the default threshold (700
    objects made beyond those freed) still started a collection every few steps: collections took about
    5 % of a busy worker's CPU, 0.5 % with `YOUNG_COLLECTION_THRESHOLD`. Cyclic garbage waits a little
    longer to be freed.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def stop_requested() -> asyncio.Event:
    """An event that SIGINT or SIGTERM sets; call from the running event loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def close_connections(container: Container) -> None:
    """Close the agent client's session and the database's connections; once, at shutdown."""
    with contextlib.suppress(Exception):
        await container.invoker().close()
    await container.database().dispose()
