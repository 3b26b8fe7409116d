"""The container image's HEALTHCHECK: alive when the health endpoint of whichever role runs answers.

One image runs `wf serve` (health on WF_PORT) and `wf worker` (health on WF_HEALTH_PORT), so both ports
are tried; a port of 0 or unset is skipped. Exits 0 when one answers 2xx, 1 otherwise.
The image runs it as `python /opt/wf/healthcheck.py`: the standard library only, so that it starts fast.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping

TIMEOUT_SECONDS = 2.0


def health_ports(environ: Mapping[str, str]) -> list[str]:
    """The ports to try, the worker's health port first (an API's WF_PORT is set in the image for both roles)."""
    candidates = (environ.get("WF_HEALTH_PORT", ""), environ.get("WF_PORT", "8080"))
    return [port for port in dict.fromkeys(candidates) if port not in ("", "0")]


def answers(port: str) -> bool:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an HTTP_PROXY
    try:
        with direct.open(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT_SECONDS):
            return True
    except OSError:  # refused, timed out, or an error status (urllib's HTTPError)
        return False


def main() -> int:
    return 0 if any(answers(port) for port in health_ports(os.environ)) else 1


if __name__ == "__main__":
    sys.exit(main())
