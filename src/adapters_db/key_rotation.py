"""Re-encrypting every stored agent secret with the newest key (`wf secrets rotate`)."""

from __future__ import annotations

import sqlalchemy as sa

from adapters_db.engine import Database
from adapters_db.secrets import FernetSecretBox
from adapters_db.tables import agents


async def rotate_secrets(database: Database, secret_box: FernetSecretBox) -> int:
    """Rotate the secret of every agent, deleted ones included, in one transaction; returns how many.

    Run it after putting a new key first in `WF_SECRET_KEY`; afterwards the old keys can be dropped.
    """
    async with database.connect() as connection:
        rows = (
            await connection.execute(
                sa.select(agents.c.id, agents.c.auth_secret).where(agents.c.auth_secret.is_not(None))
            )
        ).all()
        for agent_id, token in rows:
            await connection.execute(
                sa.update(agents).where(agents.c.id == agent_id).values(auth_secret=secret_box.rotate(token))
            )
        await connection.commit()
    return len(rows)
