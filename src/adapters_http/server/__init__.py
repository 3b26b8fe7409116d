"""The HTTP API server: an aiohttp application over the use cases of `wfcore`.

The composition root builds an `Api` from the use cases and calls `create_app(api, settings)`.
"""

from adapters_http.server.app import Api, create_app
from adapters_http.server.context import RequestIdLogFilter, current_request_id, request_id_var
from adapters_http.server.routes.system import ReadinessCheck
from adapters_http.server.schemas.system import ReadinessResult
from adapters_http.server.settings import HttpSettings

__all__ = [
    "Api",
    "HttpSettings",
    "ReadinessCheck",
    "ReadinessResult",
    "RequestIdLogFilter",
    "create_app",
    "current_request_id",
    "request_id_var",
]
