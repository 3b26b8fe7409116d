"""The two `WorkflowStore`s of `wf workflows apply`: the local database, and a wf server over HTTP.

Both show a stored workflow the same way, as `GET /api/v1/workflows/{id}` does (the document plus
the server fields), so that the plan compares like with like whichever store is used.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from yarl import URL

from adapters_db.migrate import current_async
from adapters_http.server.converter import structure
from adapters_http.server.schemas.workflows import WorkflowBody, version_response
from wfapp.apply_plan import StoredWorkflow, StoreUnavailable
from wfapp.service import WorkflowService
from wfapp.settings import Settings
from wfapp.version import __version__
from wfcore.domain.errors import ErrorDetail, InvalidInput, ServiceUnavailable, WfError
from wfcore.domain.ids import WorkflowId
from wfcore.ports.persistence import WorkflowQuery

PAGE_SIZE = 100
WORKFLOWS = "api/v1/workflows"
USER_ID = "wf-apply"

# One page of live workflows whose name contains the text: (id, name) pairs, and the total matching.
NamePage = Callable[[str, int], Awaitable[tuple[Sequence[tuple[str, str]], int]]]


class Refused(WfError):
    """The server refused one request for a reason other than the document's content (a 409, a 404)."""

    code = "refused"


async def find_id(page: NamePage, name: str) -> str | None:
    """The id of the workflow named exactly `name`, paging through the substring matches the API offers."""
    offset = 0
    while True:
        items, total = await page(name, offset)
        for workflow_id, found in items:
            if found == name:
                return workflow_id
        offset += len(items)
        if not items or offset >= total:
            return None


@attrs.define
class LocalStore:
    """Workflows in the database the `WorkflowService` facade is open on, through its use cases."""

    service: WorkflowService

    async def find(self, name: str) -> StoredWorkflow | None:
        with _unavailable_as_store_error():
            workflow_id = await find_id(self._page, name)
            if workflow_id is None:
                return None
            workflow, version = await self.service.workflows.get(WorkflowId(workflow_id))
        return StoredWorkflow(id=workflow.id, version=version.version, document=version_response(version, workflow))

    async def _page(self, name: str, offset: int) -> tuple[Sequence[tuple[str, str]], int]:
        page = await self.service.workflows.list(WorkflowQuery(name_contains=name, limit=PAGE_SIZE, offset=offset))
        return [(workflow.id, workflow.name) for workflow in page.items], page.total

    async def validate(self, document: Mapping[str, Any]) -> None:
        with _unavailable_as_store_error():
            await self.service.workflows.validate(structure(dict(document), WorkflowBody).to_definition())

    async def create(self, document: Mapping[str, Any]) -> int:
        with _unavailable_as_store_error():
            return (await self.service.create_workflow(document)).version

    async def update(self, workflow_id: str, document: Mapping[str, Any]) -> int:
        with _unavailable_as_store_error():
            return (await self.service.update_workflow(workflow_id, document)).version


@contextlib.contextmanager
def _unavailable_as_store_error() -> Iterator[None]:
    try:
        yield
    except ServiceUnavailable as error:
        raise StoreUnavailable(error.message) from error


@contextlib.asynccontextmanager
async def open_local_store(settings: Settings, *, dry_run: bool) -> AsyncIterator[LocalStore]:
    """A store on `settings.database_url`, migrated first unless `dry_run` (which must find it migrated)."""
    if dry_run:
        await _check_migrated(settings.database_url)
    try:
        service = await WorkflowService.open(
            settings.database_url, settings=settings, workers=False, migrate=not dry_run, user_id=USER_ID
        )
    except (OSError, SQLAlchemyError) as error:
        raise StoreUnavailable(f"cannot open the database: {error}") from error
    try:
        yield LocalStore(service)
    finally:
        await service.close()


def _missing_sqlite_file(database_url: str) -> str | None:
    """The path of the SQLite file `database_url` names, when it does not exist (connecting would create it)."""
    url = make_url(database_url)
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        path = str(url.database)
        return None if Path(path).exists() else path
    return None


async def _check_migrated(database_url: str) -> None:
    """A dry run writes nothing, not even a schema: it needs a database that is there already."""
    missing = _missing_sqlite_file(database_url)
    if missing is not None:
        raise StoreUnavailable(f"no database at {missing}: a dry run has nothing to compare with")
    try:
        revision = await current_async(database_url)
    except (OSError, SQLAlchemyError) as error:
        raise StoreUnavailable(f"cannot open the database: {error}") from error
    if revision is None:
        raise StoreUnavailable("the database has no schema yet: run `wf migrate` first, or apply without --dry-run")


@attrs.define
class HttpStore:
    """Workflows on a wf server, through its REST API (contract §3)."""

    session: aiohttp.ClientSession
    base_url: URL

    async def find(self, name: str) -> StoredWorkflow | None:
        workflow_id = await find_id(self._page, name)
        if workflow_id is None:
            return None
        body = await self._call("GET", f"{WORKFLOWS}/{workflow_id}")
        return StoredWorkflow(id=body["id"], version=body["version"], document=body)

    async def _page(self, name: str, offset: int) -> tuple[Sequence[tuple[str, str]], int]:
        params = {"name": name, "limit": str(PAGE_SIZE), "offset": str(offset)}
        body = await self._call("GET", WORKFLOWS, params=params)
        return [(item["id"], item["name"]) for item in body["items"]], body["total"]

    async def validate(self, document: Mapping[str, Any]) -> None:
        await self._call("POST", f"{WORKFLOWS}/validate", json=document)

    async def create(self, document: Mapping[str, Any]) -> int:
        version: int = (await self._call("POST", WORKFLOWS, json=document))["version"]
        return version

    async def update(self, workflow_id: str, document: Mapping[str, Any]) -> int:
        version: int = (await self._call("PUT", f"{WORKFLOWS}/{workflow_id}", json=document))["version"]
        return version

    async def _call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, json: Any = None
    ) -> dict[str, Any]:
        url = self.base_url / path
        try:
            async with self.session.request(method, url, params=params, json=json) as response:
                status = response.status
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise StoreUnavailable(f"cannot reach {self.base_url}: {error or type(error).__name__}") from error
        if 200 <= status < 300 and isinstance(body, dict):
            return body
        raise _refusal(method, url, status, body)


def _refusal(method: str, url: URL, status: int, body: Any) -> Exception:
    """What an answer other than a 2xx JSON object means for applying."""
    problem = body if isinstance(body, dict) else {}
    detail = problem.get("detail") or problem.get("title") or "no problem details in the answer"
    errors = problem.get("errors")
    if status == 422 and isinstance(errors, list):
        return InvalidInput(errors=[_error_detail(error) for error in errors])
    if status in (401, 403):
        return StoreUnavailable(
            f"{url.origin()} refused the request ({status}): {detail}; pass --api-key or set WF_API_KEY"
        )
    if status >= 500 or not problem:
        request_id = problem.get("request_id")
        suffix = f" (request id {request_id})" if request_id else ""
        return StoreUnavailable(f"{method} {url} answered {status}: {detail}{suffix}; is it a wf server?")
    return Refused(f"the server refused it ({status}): {detail}")


def _error_detail(error: Any) -> ErrorDetail:
    if not isinstance(error, dict):
        return ErrorDetail(loc=(), msg=str(error), type="invalid")
    loc = tuple(part for part in error.get("loc", ()) if isinstance(part, str | int))
    return ErrorDetail(loc=loc, msg=str(error.get("msg", "is not valid")), type=str(error.get("type", "invalid")))


@contextlib.asynccontextmanager
async def open_http_store(base_url: str, api_key: str | None) -> AsyncIterator[HttpStore]:
    """A store on the wf server at `base_url`, sending `api_key` as `X-API-Key` when given."""
    headers = {"User-Agent": f"wf/{__version__} (workflows apply)"}
    if api_key:
        headers["X-API-Key"] = api_key
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout, raise_for_status=False) as session:
        yield HttpStore(session, URL(base_url))
