"""Reading an agent's HTTP response into the outcome of one attempt (contract §2)."""

from __future__ import annotations

import codecs
import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from wfcore.domain.agents import Agent
from wfcore.ports.agents import AgentReply

EXCERPT_BYTES = 2048
CHUNK_BYTES = 65_536
RETRY_AFTER_STATUSES = (429, 503)


async def read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The first `limit` bytes of the body (all of it when shorter), reading no further than needed."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(min(CHUNK_BYTES, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def excerpt(response: aiohttp.ClientResponse) -> str:
    """The first 2 KiB of the body as text."""
    return decode(await read_at_most(response, EXCERPT_BYTES), response.charset)


def decode(body: bytes, charset: str | None) -> str:
    try:
        codec = codecs.lookup(charset or "utf-8").name
    except LookupError:
        codec = "utf-8"
    return body.decode(codec, errors="replace")


def is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def retry_after_ms(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header (delay in seconds, or an HTTP date) as milliseconds from `now`."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value) * 1000.0
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds() * 1000)


async def reply_from(response: aiohttp.ClientResponse, agent: Agent, max_bytes: int, now: datetime) -> AgentReply:
    """The outcome of an attempt that got an HTTP answer."""
    status = response.status
    if 200 <= status < 300:
        return await _success(response, max_bytes)
    if 300 <= status < 400:
        location = response.headers.get("Location", "(no Location header)")
        return AgentReply(
            http_status=status,
            error_code="agent_error",
            error_message=f"the agent answered {status} redirecting to {location}; agent redirects are not followed",
        )
    # Retry-After is read whatever the agent's policy says: a step's own retry_on_status may retry it.
    return AgentReply(
        http_status=status,
        error_code="agent_error",
        error_message=f"the agent answered {status} {response.reason or ''}".rstrip(),
        body_excerpt=await excerpt(response),
        retryable=agent.retry.should_retry_status(status),
        retry_after_ms=retry_after_ms(response.headers.get("Retry-After"), now)
        if status in RETRY_AFTER_STATUSES
        else None,
    )


async def _success(response: aiohttp.ClientResponse, max_bytes: int) -> AgentReply:
    too_large = AgentReply(
        http_status=response.status,
        error_code="response_too_large",
        error_message=f"the agent's response is larger than the limit of {max_bytes} bytes",
    )
    if response.content_length is not None and response.content_length > max_bytes:
        return too_large
    body = await read_at_most(response, max_bytes + 1)
    if len(body) > max_bytes:
        return too_large
    if not body:
        return AgentReply(http_status=response.status, output=None)
    if not is_json(response.content_type):
        return AgentReply(http_status=response.status, output={"text": decode(body, response.charset)})
    try:
        output: Any = json.loads(body)
    except (ValueError, RecursionError) as error:
        return AgentReply(
            http_status=response.status,
            error_code="agent_error",
            error_message=f"the agent answered {response.status} with a JSON content type but invalid JSON: {error}",
            body_excerpt=decode(body[:EXCERPT_BYTES], response.charset),
        )
    return AgentReply(http_status=response.status, output=output)
