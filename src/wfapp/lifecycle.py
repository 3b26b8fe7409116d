"""What every `wf` process does at the edges of its life: wait for a stop signal, close connections."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal

from wfapp.container import Container


def freeze_startup_objects() -> None:
    """Keep what startup made (modules, the container, pools, clients) out of the garbage collector's sight.

    These live as long as the process, yet each full collection would walk them all again (some 150,000
    objects in a worker): a few percent of a busy process's CPU. Call once the process is started. What
    startup left unreachable is collected first, or it would be kept for the life of the process.
    """
    gc.collect()
    gc.freeze()


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
