"""The OpenAPI 3.1 document of the API, generated from the route table and the schema classes."""

from adapters_http.server.openapi.document import ApiInfo, build_document

__all__ = ["ApiInfo", "build_document"]
