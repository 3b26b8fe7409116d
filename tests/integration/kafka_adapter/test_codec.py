"""The message schema: what goes on the wire, and what a tolerant reader makes of what comes off it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from adapters_kafka.codec import MESSAGE_ID_HEADER, REQUEST_ID_HEADER, decode, encode
from integration.kafka_adapter.conftest import dispatch
from wfcore.ports.dispatch import DispatchKind


def test_a_dispatch_is_a_versioned_json_envelope_keyed_by_run_id_with_ids_in_headers() -> None:
    sent = dispatch(DispatchKind.CANCEL, request_id="req-123")

    message = encode(sent)

    assert message.key == sent.run_id.encode()
    assert json.loads(message.value) == {
        "v": 1,
        "kind": "cancel",
        "run_id": sent.run_id,
        "dispatch_id": sent.id,
        "created_at": sent.created_at.isoformat(),
    }
    assert dict(message.headers) == {MESSAGE_ID_HEADER: sent.id.encode(), REQUEST_ID_HEADER: b"req-123"}


def test_decoding_gives_back_what_was_encoded() -> None:
    sent = dispatch(request_id="req-9")
    message = encode(sent)

    received = decode(message.value, message.headers)

    assert received is not None
    assert (received.kind, received.run_id, received.dispatch_id) == (sent.kind, sent.run_id, sent.id)
    assert received.created_at == sent.created_at
    assert received.request_id == "req-9"


def test_a_message_without_a_request_id_has_no_such_header() -> None:
    message = encode(dispatch())

    assert [name for name, _ in message.headers] == [MESSAGE_ID_HEADER]
    assert decode(message.value, message.headers).request_id is None  # type: ignore[union-attr]


def test_unknown_fields_and_newer_versions_are_read_as_far_as_they_go() -> None:
    body = {
        "v": 2,
        "kind": "start",
        "run_id": "r-1",
        "dispatch_id": "d-1",
        "created_at": "2030-01-01T00:00:00+00:00",
        "priority": "high",
    }

    received = decode(json.dumps(body).encode())

    assert received is not None
    assert (received.kind, received.run_id, received.created_at) == (
        DispatchKind.START,
        "r-1",
        datetime(2030, 1, 1, tzinfo=UTC),
    )


GOOD = {"v": 1, "kind": "start", "run_id": "r", "dispatch_id": "d", "created_at": "2030-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"\xff{", "codec can't decode"),
        (b"not json", "Expecting value"),
        (b"[1, 2]", "not a JSON object"),
        (None, "Expecting value"),
        (json.dumps({**GOOD, "v": 0}).encode(), "unknown envelope version 0"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "v"}).encode(), "unknown envelope version None"),
        (json.dumps({**GOOD, "kind": "pause"}).encode(), "$.kind"),
        (json.dumps({**GOOD, "run_id": 7}).encode(), "$.run_id"),
        (json.dumps({**GOOD, "run_id": ""}).encode(), "$.run_id"),
        (json.dumps({**GOOD, "created_at": "2030-01-01T00:00:00"}).encode(), "$.created_at"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "dispatch_id"}).encode(), "dispatch_id"),
    ],
)
def test_a_malformed_message_is_skipped_with_one_log_line(
    value: bytes | None, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters_kafka.codec"):
        assert decode(value, where="(runs[2]@41)") is None

    [line] = caplog.records
    assert line.getMessage().startswith("skipping a malformed message (runs[2]@41): ")
    assert reason in line.getMessage()
