"""Log lines as text or JSON, each carrying the id of the request that caused it."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from adapters_http.server.context import RequestIdLogFilter

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in ("method", "route", "status", "duration_ms"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # SQL statements are debug detail: visible only when the whole service logs at DEBUG.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO if level == "DEBUG" else logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING if level != "DEBUG" else logging.DEBUG)
