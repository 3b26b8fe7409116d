"""Agent secrets at rest: the embedded key file, key rotation with `wf secrets rotate`, no key no secret."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from fixtures.cli import wf_command
from wfapp import Settings, WorkflowService
from wfcore.domain.agents import BearerAuth
from wfcore.domain.errors import InvalidInput

TOKEN = "tok-5f2a9c1e-never-in-clear"


def raw_secrets(database: Path) -> list[str]:
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(sa.text("SELECT auth_secret FROM agents"))]
    finally:
        engine.dispose()


async def open_with(url: str, *keys: str) -> WorkflowService:
    return await WorkflowService.open(url, settings=Settings(secret_key=keys), workers=False)


async def test_old_keys_still_decrypt_and_rotate_moves_secrets_to_the_newest(tmp_path: Path) -> None:
    database = tmp_path / "wf.db"
    url = f"sqlite+aiosqlite:///{database}"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    async with await open_with(url, old) as wf:
        agent = await wf.register_agent(
            name="vault", url="http://127.0.0.1:9/", auth_type="bearer", auth_config={"token": TOKEN}
        )
    assert TOKEN not in raw_secrets(database)[0]

    async with await open_with(url, new, old) as wf:
        assert (await wf.agents.get(agent.id)).auth == BearerAuth(token=TOKEN)

    rotated = await asyncio.to_thread(
        wf_command, "secrets", "rotate", env={"WF_DATABASE_URL": url, "WF_SECRET_KEY": f"{new},{old}"}, timeout=60
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted the secrets of 1 agents" in rotated.stdout
    assert Fernet(new.encode()).decrypt(raw_secrets(database)[0].encode())

    async with await open_with(url, new) as wf:
        assert (await wf.agents.get(agent.id)).auth == BearerAuth(token=TOKEN)


async def test_the_embedded_default_makes_a_private_key_file_beside_the_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wf.db'}"
    async with await WorkflowService.open(url, workers=False) as wf:
        await wf.register_agent(
            name="vault",
            url="http://127.0.0.1:9/",
            auth_type="basic",
            auth_config={"username": "ada", "password": TOKEN},
        )
    key_file = tmp_path / "wf.db.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert TOKEN not in raw_secrets(tmp_path / "wf.db")[0]


async def test_without_a_key_a_database_server_refuses_secrets_but_not_agents(migrated_postgres_url: str) -> None:
    async with await WorkflowService.open(migrated_postgres_url, workers=False, migrate=False) as wf:
        await wf.register_agent(name="open", url="http://127.0.0.1:9/")
        with pytest.raises(InvalidInput) as raised:
            await wf.register_agent(
                name="vault", url="http://127.0.0.1:9/", auth_type="bearer", auth_config={"token": TOKEN}
            )
    assert raised.value.errors[0].loc == ("auth_config",)
    assert "WF_SECRET_KEY" in raised.value.errors[0].msg
