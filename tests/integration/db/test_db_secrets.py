"""Agent secrets at rest: encrypted in the database, readable through key rotation, never in clear."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from adapters_db.key_rotation import rotate_secrets
from adapters_db.secrets import FernetSecretBox
from adapters_db.tables import agents
from adapters_db.unit_of_work import SqlUnitOfWorkFactory
from contract.backends import SqlBackend
from contract.builders import agent, at
from wfcore.domain.agents import ApiKeyAuth, BasicAuth, BearerAuth, NoAuth
from wfcore.domain.errors import ServiceUnavailable


async def _raw_rows(backend: SqlBackend) -> list[str]:
    """Every agent row as the text a database dump would show."""
    async with backend.database.connect() as connection:
        rows = (await connection.execute(sa.select(agents))).all()
    return [repr(tuple(row)) for row in rows]


async def test_secret_auth_fields_are_stored_only_encrypted(sql: SqlBackend) -> None:
    stored = [
        agent("bearer", auth=BearerAuth(token="bearer-secret-1")),
        agent("apikey", auth=ApiKeyAuth(key="api-secret-2", header="X-Custom-Key")),
        agent("basic", auth=BasicAuth(username="basic-user", password="basic-secret-3")),
        agent("open", auth=NoAuth()),
    ]
    async with sql.uow() as tx:
        for item in stored:
            await tx.agents.add(item)
        await tx.commit()
    dump = "\n".join(await _raw_rows(sql))
    for secret in ("bearer-secret-1", "api-secret-2", "basic-secret-3"):
        assert secret not in dump
    # The fields that are not secret stay readable, for operators.
    assert "X-Custom-Key" in dump
    assert "basic-user" in dump
    async with sql.database.connect() as connection:
        tokens = dict((await connection.execute(sa.select(agents.c.name, agents.c.auth_secret))).all())
    assert tokens["open"] is None
    assert sql.secret_box.decrypt(tokens["basic"]) == '{"password": "basic-secret-3"}'
    async with sql.uow() as tx:
        assert [await tx.agents.get(item.id) for item in stored] == stored


async def test_rotation_moves_every_secret_to_the_new_key(sql: SqlBackend) -> None:
    old_key, new_key = FernetSecretBox.new_key(), FernetSecretBox.new_key()
    live = agent("live", auth=BearerAuth(token="s3cret"))
    deleted = agent("gone", auth=BasicAuth(username="u", password="pw"), deleted_at=at(1))
    async with SqlUnitOfWorkFactory(sql.database, FernetSecretBox([old_key]))() as tx:
        for item in (live, deleted, agent("open")):
            await tx.agents.add(item)
        await tx.commit()

    with pytest.raises(ServiceUnavailable, match="cannot be decrypted"):
        async with SqlUnitOfWorkFactory(sql.database, FernetSecretBox([new_key]))() as tx:
            await tx.agents.get(live.id)

    assert await rotate_secrets(sql.database, FernetSecretBox([new_key, old_key])) == 2
    only_new = FernetSecretBox([new_key])
    async with SqlUnitOfWorkFactory(sql.database, only_new)() as tx:
        assert await tx.agents.get(live.id) == live
    async with sql.database.connect() as connection:
        tokens = dict((await connection.execute(sa.select(agents.c.name, agents.c.auth_secret))).all())
    assert only_new.decrypt(tokens["gone"]) == '{"password": "pw"}'
    assert tokens["open"] is None
    assert await rotate_secrets(sql.database, only_new) == 2


def test_a_secret_box_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        FernetSecretBox([])


def test_the_newest_key_encrypts_and_every_key_decrypts() -> None:
    old_key, new_key = FernetSecretBox.new_key(), FernetSecretBox.new_key()
    old_token = FernetSecretBox([old_key]).encrypt("pässword")
    box = FernetSecretBox([new_key, old_key])
    assert box.decrypt(old_token) == "pässword"
    assert FernetSecretBox([new_key]).decrypt(box.encrypt("pässword")) == "pässword"
    with pytest.raises(ServiceUnavailable):
        FernetSecretBox([old_key]).rotate(box.rotate(old_token))
