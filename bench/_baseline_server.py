"""The baseline of `bench api`: a bare aiohttp handler doing one SQLAlchemy Core select, nothing else."""

from __future__ import annotations

import argparse
import json

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters_db.engine import create_database
from adapters_db.tables import workflows
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

    app = web.Application()
    app.router.add_get("/w/{id}", read)
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
