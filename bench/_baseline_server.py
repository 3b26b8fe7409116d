"""The baselines of `bench api`: bare aiohttp handlers doing the database work of a request, nothing else.

`GET /w/{id}` does one SQLAlchemy Core select (the baseline of the targets); `POST /a` the two inserts
of an agent's registration (its row and its audit entry) and the commit, with values built in place.
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters_db.engine import create_database
from adapters_db.tables import agents, audit_log, workflows
from wfapp.event_loop import new_event_loop


def make_app(engine: AsyncEngine) -> web.Application:
    async def read(request: web.Request) -> web.Response:
        async with engine.connect() as connection:
            row = (
                (await connection.execute(sa.select(workflows).where(workflows.c.id == request.match_info["id"])))
                .mappings()
                .one()
            )
        return web.json_response(
            {"id": row["id"], "name": row["name"]}, dumps=lambda value: json.dumps(value, default=str)
        )

    async def write(request: web.Request) -> web.Response:
        body = await request.json()
        agent_id, now = str(uuid.uuid4()), datetime.now(UTC)
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(agents).values(
                    id=agent_id,
                    name=body["name"],
                    url=body["url"],
                    health_url=body["url"] + "health",
                    auth_type="none",
                    auth_public={},
                    timeout_ms=30000,
                    retry={"max_attempts": 3},
                    status="active",
                    created_at=now,
                    updated_at=now,
                )
            )
            await connection.execute(
                sa.insert(audit_log).values(
                    id=str(uuid.uuid4()),
                    entity_type="agent",
                    entity_id=agent_id,
                    action="create",
                    user_id="anonymous",
                    changes={"name": [None, body["name"]], "url": [None, body["url"]]},
                    timestamp=now,
                )
            )
        return web.json_response({"id": agent_id, "name": body["name"]}, status=201)

    app = web.Application()
    app.router.add_get("/w/{id}", read)
    app.router.add_post("/a", write)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    database = create_database(args.database_url)
    # On the event loop `wf serve` runs on, so that the comparison is of the request paths alone.
    web.run_app(
        make_app(database.engine),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        loop=new_event_loop(),
    )


if __name__ == "__main__":
    main()
