"""`wf migrate` and `wf serve` as real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from fixtures.cli import wf_command


def tables(database: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrate_goes_to_head_down_to_base_and_back(tmp_path: Path) -> None:
    database = tmp_path / "wf.db"
    url = f"sqlite+aiosqlite:///{database}"
    up = wf_command("migrate", "--database-url", url)
    assert up.returncode == 0, up.stderr
    assert "database schema at revision" in up.stdout
    assert {"agents", "workflows", "runs", "audit_log"} <= tables(database)

    down = wf_command("migrate", "--revision", "base", env={"WF_DATABASE_URL": url})
    assert down.returncode == 0, down.stderr
    assert "at revision base" in down.stdout
    assert tables(database) <= {"alembic_version"}

    again = wf_command("migrate", env={"WF_DATABASE_URL": url})
    assert again.returncode == 0, again.stderr
    assert "runs" in tables(database)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_migrates_answers_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    environ = {**os.environ, "WF_PORT": str(port), "WF_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'wf.db'}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "wfapp.cli", "serve"], env=environ, stderr=subprocess.PIPE, text=True
    )
    try:
        body = wait_for_health(f"http://127.0.0.1:{port}/health")
        assert '"status": "ok"' in body or '"status":"ok"' in body
        assert (tmp_path / "wf.db.key").stat().st_mode & 0o777 == 0o600
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        server.kill()
        server.wait()


def wait_for_health(url: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
