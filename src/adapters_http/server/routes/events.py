"""`GET /api/v1/runs/{run_id}/events`: a run's event log as a live `text/event-stream`."""

from __future__ import annotations

import asyncio
import logging
import re

import attrs
from aiohttp import web

from adapters_http.server.endpoints import EVENT_STREAM, Endpoint, HeaderParameter, Reply, Tag
from adapters_http.server.openapi import examples
from adapters_http.server.responses import sse_frame
from adapters_http.server.routes.runs import ITEM, RUN_ID, run_id_of
from adapters_http.server.schemas.runs import EventResponse, ServerSentEvent
from wfcore.domain.events import RunEvent
from wfcore.use_cases.runs import RunQueries

log = logging.getLogger(__name__)

LAST_EVENT_ID = HeaderParameter(
    "Last-Event-ID",
    "The `seq` of the last event heard: the stream resumes after it. A value that is not a seq "
    "(1-18 digits) is ignored.",
)


def _sse(event: RunEvent) -> bytes:
    return sse_frame(ServerSentEvent.from_entry(EventResponse.from_event(event))).encode()


_SEQ = re.compile(r"[0-9]{1,18}")


def _resume_after(request: web.Request) -> int:
    """Where a reconnecting client left off (its `Last-Event-ID`), else the start of the log.

    Only a number that can be a `seq` (at most 18 digits, within a database's 64-bit integers) counts.
    """
    last = request.headers.get("Last-Event-ID", "")
    return int(last) if _SEQ.fullmatch(last) else 0


@attrs.frozen
class RunEventStream:
    """Replays the events so far, then polls for new ones until the run ends or the client leaves."""

    queries: RunQueries
    poll_seconds: float

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                ITEM + "/events",
                self.stream,
                operation_id="streamRunEvents",
                tag=Tag.RUNS,
                summary="Follow a run's events live",
                description=(
                    "The run's event log as server-sent events: the events so far, then each new one as it is "
                    "committed, until the run ends (a retried run goes on). Each event's `id` is its `seq`: "
                    "a client that reconnects with `Last-Event-ID` hears only what came after it. Its `data` is "
                    "an `EventResponse`."
                ),
                path_parameters=(RUN_ID,),
                headers=(LAST_EVENT_ID,),
                replies=(
                    Reply(
                        200,
                        "The event stream; the schema is that of each event.",
                        ServerSentEvent,
                        examples.event_stream(examples.EVENT),
                        media_type=EVENT_STREAM,
                    ),
                ),
            )
        ]

    async def stream(self, request: web.Request) -> web.StreamResponse:
        run_id = run_id_of(request)
        after = _resume_after(request)
        run = await self.queries.get(run_id)  # a 404 before the stream starts
        events = await self.queries.events(run_id, after_seq=after)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        try:
            # A client resuming after the final event of a finished run has nothing more to hear.
            if events or not run.status.is_finished:
                await self._follow(request, response, events, after)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away
        except Exception:
            # The headers are sent, so no problem document can follow: end the stream, and the client
            # reconnects with its Last-Event-ID.
            log.warning("the event stream of run %s broke off", run_id, exc_info=True)
        return response

    async def _follow(
        self, request: web.Request, response: web.StreamResponse, events: list[RunEvent], after: int
    ) -> None:
        run_id = run_id_of(request)
        while True:
            for event in events:
                await response.write(_sse(event))
                after = event.seq or after
            # A retried run logs more after its final event: only a final event that is the latest ends the stream.
            if events and events[-1].type.ends_run:
                return
            await asyncio.sleep(self.poll_seconds)
            if request.transport is None or request.transport.is_closing():
                return
            events = await self.queries.events(run_id, after_seq=after)
