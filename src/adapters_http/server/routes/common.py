"""Documentation pieces several resources share: request headers, response headers, the 204 of a delete."""

from __future__ import annotations

from typing import Final

from adapters_http.server.context import USER_ID_HEADER, USER_ID_MAX_LENGTH
from adapters_http.server.endpoints import HeaderParameter, Reply

USER_ID: Final = HeaderParameter(
    USER_ID_HEADER,
    "Who makes the change, for the audit log, when API keys are off (with keys on, the key's name is). "
    "Default: `anonymous`.",
    max_length=USER_ID_MAX_LENGTH,
)

LOCATION: Final = {"Location": "The path of the resource."}


def deleted(entity: str) -> Reply:
    """The 204 of a soft delete."""
    return Reply(204, f"The {entity} is deleted.")
