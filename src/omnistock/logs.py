"""Logs as JSON lines, with `OMNISTOCK_LOG_FORMAT=json` (the default, `text`, stays as it was:
uvicorn's readable access log and Python's own format).

Every record becomes one JSON object on one line: `time` (UTC, ISO 8601), `level`, `logger`,
`pid` (the server process), and either the request's fields (the line the API writes once
per request, see `omnistock.api.middleware.RequestTelemetry`) or the `message`; an `error`
carries a traceback. uvicorn's own access log is turned off: the request line replaces it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config
from typing import Any

#: The logger of the one line per request.
REQUESTS = "omnistock.requests"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC)
        line: dict[str, Any] = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        fields = getattr(record, "request", None)
        if isinstance(fields, dict):
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def json_config() -> dict[str, Any]:
    """`logging.config.dictConfig` for JSON lines on stderr: omnistock's and uvicorn's
    records, but not uvicorn's access log."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    quiet = {"handlers": [], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "omnistock": {"handlers": ["json"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["json"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": quiet,
        },
    }


def configure(log_format: str) -> None:
    """Set up this process's logs for `log_format` (`text` leaves them as they are)."""
    if log_format == "json":
        logging.config.dictConfig(json_config())
