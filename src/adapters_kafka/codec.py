"""The message schema: a small versioned JSON envelope, keyed by run id.

    value   {"v": 1, "kind": "start" | "cancel", "run_id": "...", "dispatch_id": "...", "created_at": "RFC 3339"}
    key     the run id (so every message of a run lands on one partition, in order)
    headers x-request-id (the request that caused it, when known), x-message-id (the dispatch id)

Decoding is tolerant: unknown fields are ignored (a newer writer may add some) and a message that
cannot be read at all is skipped with one log line, never raised into the consumer loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs
import cattrs

from wfcore.domain.ids import RunId
from wfcore.ports.dispatch import Dispatch, DispatchKind

log = logging.getLogger(__name__)

VERSION = 1
REQUEST_ID_HEADER = "x-request-id"
MESSAGE_ID_HEADER = "x-message-id"

Headers = Sequence[tuple[str, bytes]]


@attrs.frozen
class Envelope:
    """The JSON body of a message (contract of the wire: change only by adding fields or a new `v`)."""

    v: int
    kind: DispatchKind
    run_id: RunId
    dispatch_id: str
    created_at: datetime


@attrs.frozen
class RunMessage:
    """A decoded message: what to do with which run, and where it came from."""

    kind: DispatchKind
    run_id: RunId
    dispatch_id: str
    created_at: datetime
    request_id: str | None = None


@attrs.frozen
class Encoded:
    """A message ready for `AIOKafkaProducer.send`."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def _tolerant_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_structure_hook(str, lambda value, _: _text(value))
    converter.register_structure_hook(DispatchKind, lambda value, _: DispatchKind(_text(value)))
    converter.register_structure_hook(datetime, lambda value, _: _datetime(value))
    converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
    return converter


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("created_at must be an RFC 3339 string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("created_at must carry a UTC offset")
    return parsed


_converter = _tolerant_converter()


def encode(dispatch: Dispatch) -> Encoded:
    """The message announcing `dispatch`."""
    envelope = Envelope(
        v=VERSION,
        kind=dispatch.kind,
        run_id=dispatch.run_id,
        dispatch_id=dispatch.id,
        created_at=dispatch.created_at,
    )
    headers = [(MESSAGE_ID_HEADER, dispatch.id.encode())]
    if dispatch.request_id:
        headers.append((REQUEST_ID_HEADER, dispatch.request_id.encode()))
    value = json.dumps(_converter.unstructure(envelope), separators=(",", ":")).encode()
    return Encoded(key=dispatch.run_id.encode(), value=value, headers=headers)


def decode(value: bytes | None, headers: Headers = (), *, where: str = "") -> RunMessage | None:
    """The message in `value`, or None (logged) when it is not one that this version can act on.

    `where` names the message in the log line (topic, partition and offset).
    """
    try:
        document = json.loads(value or b"")
        if not isinstance(document, dict):
            raise ValueError("the value is not a JSON object")
        version = document.get("v")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"unknown envelope version {version!r}")
        envelope = _converter.structure(document, Envelope)
    except (ValueError, UnicodeDecodeError, cattrs.BaseValidationError) as error:
        log.warning("skipping a malformed message %s: %s", where, _reason(error))
        return None
    return RunMessage(
        kind=envelope.kind,
        run_id=envelope.run_id,
        dispatch_id=envelope.dispatch_id,
        created_at=envelope.created_at,
        request_id=header(headers, REQUEST_ID_HEADER),
    )


def header(headers: Headers, name: str) -> str | None:
    """The first header called `name`, decoded as UTF-8 (None when absent or undecodable)."""
    for key, raw in headers or ():
        if key == name:
            try:
                return raw.decode()
            except (UnicodeDecodeError, AttributeError):
                return None
    return None


def _reason(error: Exception) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(error)) or str(error)
    return str(error)
