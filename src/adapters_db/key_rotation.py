"""Key rotation: re-encrypt every stored agent secret with the newest key, so old keys can be dropped."""

from __future__ import annotations

import sqlalchemy as sa

from adapters_db.engine import Database
from adapters_db.secrets import FernetSecretBox
from adapters_db.tables import agents
from adapters_db.transaction import Transaction

_UPDATE_SECRET = (
    sa.update(agents).where(agents.c.id == sa.bindparam("key_id")).values(auth_secret=sa.bindparam("token"))
)


async def rotate_secrets(database: Database, secret_box: FernetSecretBox) -> int:
    """Re-encrypt the secrets of every agent, deleted ones included, in one transaction.

    `secret_box` must hold the new key first and every key still in use after it. Returns how many
    secrets were rotated; running it again is harmless.
    """
    async with database.connect() as connection:
        tx = Transaction(connection)
        stored = (
            await tx.execute(sa.select(agents.c.id, agents.c.auth_secret).where(agents.c.auth_secret.is_not(None)))
        ).all()
        if stored:
            rotated = [{"key_id": row.id, "token": secret_box.rotate(row.auth_secret)} for row in stored]
            await tx.execute(_UPDATE_SECRET, rotated)
        await tx.commit()
    return len(stored)
