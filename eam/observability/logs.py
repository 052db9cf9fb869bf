"""Structured logs: one JSON object per line, one ``eam.access`` line per request.

Rules:
- every request gets an id: ``X-Request-ID`` when the caller sent a sane one, else a new UUID;
  it is echoed on the response, stored with audit events, and logged with the request line.
- the request line carries method, path (never the query string), route template, status,
  duration and request id. Tokens, secrets and national numbers are never logged: no handler
  logs them, and a filter blanks anything shaped like a JWT or a national number that reaches
  a log line anyway (an exception message, a library's debug output).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from pythonjsonlogger.core import RESERVED_ATTRS
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from eam.observability.metrics import STATEMENTS_IN_REQUEST
from eam.core.settings import Settings

ACCESS_LOGGER = "eam.access"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: A compact JWS/JWE (RFC 7515 section 7.1): base64url segments, the first a JSON header ("eyJ").
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?")
#: A Belgian national number (11 digits, often written YY.MM.DD-XXX.CC); never logged.
NATIONAL_NUMBER_SHAPE = re.compile(r"(?<!\d)\d{2}\.?\d{2}\.?\d{2}[-.]?\d{3}\.?\d{2}(?!\d)")
#: ``Authorization: Basic …`` or ``client_secret=…`` that slipped into a message.
CREDENTIAL_SHAPE = re.compile(r"(?i)(basic\s+|client_secret=)[A-Za-z0-9+/=_.~%-]+")
#: A UUID (request ids, row ids): 11 of its hex digits may happen to be decimal, not a national number.
UUID_SHAPE = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_NUMBER_OR_UUID = re.compile(f"(?P<uuid>{UUID_SHAPE.pattern})|{NATIONAL_NUMBER_SHAPE.pattern}")


def redact(text: str) -> str:
    text = JWT_SHAPE.sub("[redacted-token]", text)
    text = CREDENTIAL_SHAPE.sub(lambda m: f"{m.group(1)}[redacted]", text)
    return _NUMBER_OR_UUID.sub(lambda m: m.group("uuid") or "[redacted-number]", text)


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)))


class RedactingFilter(logging.Filter):
    """Blank token-, secret- and national-number-shaped text in the message, its arguments,
    its extra fields and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call must not fail the code that logs
            message = f"{record.msg} (unformatted arguments: {record.args!r})"
        record.msg = redact(message)
        record.args = None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


#: Libraries that print bound SQL values, result rows or raw protocol data below this level:
#: aiosqlite logs every call with its arguments, SQLAlchemy's engine logs result rows at DEBUG,
#: hpack decoded headers (Authorization). They never log below it, whatever EAM_LOG_LEVEL says.
QUIETER_LIBRARIES = {"aiosqlite": "WARNING", "asyncpg": "INFO", "hpack": "WARNING", "httpcore": "INFO"}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _at_least(level: str, floor: str) -> str:
    return max(level, floor, key=_LEVELS.index)


def log_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` document, also handed to uvicorn for each worker.

    At DEBUG, SQLAlchemy's statements are logged (INFO, never rows); their parameters never are:
    every engine has ``hide_parameters`` (:func:`eam.core.database.create_engine`).
    """
    libraries: dict[str, Any] = {name: {"level": _at_least(settings.log_level, floor)} for name, floor in QUIETER_LIBRARIES.items()}
    libraries["sqlalchemy.engine"] = {"level": "INFO" if settings.log_level == "DEBUG" else "WARNING"}
    formatter: dict[str, Any]
    if settings.log_format == "json":
        formatter = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
            # uvicorn repeats its message with terminal colours; keep the plain one only.
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        }
    else:
        formatter = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": RedactingFilter}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["redact"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level},
        "loggers": {
            # uvicorn's own access log would print query strings; EAM writes its own request line.
            "uvicorn.access": {"handlers": [], "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": settings.log_level, "propagate": False},
            "uvicorn.error": {"level": settings.log_level},
            **libraries,
        },
    }


def request_log_middleware(app: ASGIApp) -> ASGIApp:
    """Assign the request id, echo it, and write the request's one access-log line."""
    logger = logging.getLogger(ACCESS_LOGGER)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        supplied = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = supplied if supplied and REQUEST_ID.match(supplied) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        statements = [0]
        STATEMENTS_IN_REQUEST.set(statements)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            logger.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": scope.get("path_template"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "sql_statements": statements[0],
                    "request_id": request_id,
                },
            )

    return middleware
