"""`/docs` (Swagger UI) and `/redoc` (ReDoc) render the document in headless Chromium with the network blocked.

Chromium resolves no name and reaches no address but 127.0.0.1, so a page renders only if every file it
loads comes from the app. Debian's `chromium` is installed when missing (as root); where it cannot be,
the tests are skipped saying why.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from e2e.openapi.conftest import Client

pytestmark = pytest.mark.timeout(900)  # installing Chromium, on a machine without it, takes minutes

CHROMIUM = ("chromium", "chromium-browser")
TITLE = "wf: Workflow Management API"


def _install_chromium() -> str | None:
    """Why Chromium cannot be installed, or None once it is."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "Chromium is missing and cannot be installed here (needs root and apt-get): apt-get install chromium"
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, check=False)
        if result.returncode != 0:
            return f"installing Chromium failed ({' '.join(command)}): {result.stderr.strip()[-500:]}"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a Chromium binary, installed with apt-get if needed."""
    found = next((path for name in CHROMIUM if (path := shutil.which(name))), None)
    if found is None:
        problem = _install_chromium()
        found = next((path for name in CHROMIUM if (path := shutil.which(name))), None)
        if found is None:
            pytest.skip(problem or "Chromium was installed but is not on PATH")
    return found


async def rendered_dom(chromium: str, url: str) -> str:
    """The DOM of `url` once its scripts ran, in a headless Chromium that can reach only 127.0.0.1."""
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={Path(profile)}",
            # The network is blocked: no name resolves, and every address but loopback goes to a dead proxy.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    return stdout.decode()


def operation_ids(document: dict[str, Any]) -> list[str]:
    return [operation["operationId"] for item in document["paths"].values() for operation in item.values()]


async def test_swagger_ui_renders_every_operation_offline(
    docs_client: Client, document: dict[str, Any], chromium: str
) -> None:
    dom = await rendered_dom(chromium, str(docs_client.make_url("/docs")))

    assert "Unable to render this definition" not in dom
    assert f'<h1 class="title">{TITLE}<' in dom
    shown = set(re.findall(r'opblock-summary-operation-id">([A-Za-z0-9]+)<', dom))
    assert shown == set(operation_ids(document))
    assert 'id="operations-agents-createAgent"' in dom
    assert 'id="operations-tag-workflows"' in dom


async def test_redoc_renders_every_operation_offline(
    docs_client: Client, document: dict[str, Any], chromium: str
) -> None:
    dom = html.unescape(await rendered_dom(chromium, str(docs_client.make_url("/redoc"))))

    assert re.search(rf"<h1[^>]*>{re.escape(TITLE)}", dom)
    for operation_id in operation_ids(document):
        assert f'id="operation/{operation_id}"' in dom, operation_id
    for summary in ("Register an agent", "Follow a run's events live", "Read the audit log"):
        assert re.search(rf"</a>{re.escape(summary)}\s*</h2>", dom), summary
