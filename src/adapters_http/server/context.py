"""Who is asking and under which correlation id: the request id, the principal, the audit actor."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from aiohttp import web

from adapters_http.server.params import header_text
from wfcore.use_cases.common import Actor

REQUEST_ID_HEADER = "X-Request-ID"
USER_ID_HEADER = "X-User-ID"
USER_ID_MAX_LENGTH = 128

REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", str)

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

request_id_var: ContextVar[str | None] = ContextVar("wf_request_id", default=None)
"""The id of the request being served; log formatters read it (see `RequestIdLogFilter`)."""


def current_request_id() -> str | None:
    """The id of the request this task serves, or None outside a request."""
    return request_id_var.get()


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record (`-` outside a request), for formats such as `%(request_id)s`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


def request_id_for(request: web.BaseRequest) -> str:
    """The caller's `X-Request-ID` when it is sane (1-128 of `[A-Za-z0-9._:-]`), else a new uuid4."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _SANE_REQUEST_ID.fullmatch(given) else str(uuid.uuid4())


def actor(request: web.Request) -> Actor:
    """The audit actor: the API key's name, else the `X-User-ID` header, else `anonymous`."""
    user_id = request.get(PRINCIPAL) or header_text(request, USER_ID_HEADER, max_length=USER_ID_MAX_LENGTH)
    return Actor(user_id=user_id or "anonymous", request_id=request[REQUEST_ID])
