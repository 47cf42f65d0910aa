"""One logging setup for every process: JSON lines on stderr, personal data masked, request ids.

`configure_logging("gateway", settings)` in each `__main__`. Each line is one JSON object:
`{"ts", "level", "proc", "logger", "msg", "request_id"?, "exc"?}`. Where the lines go is the
platform's business: `yiwang up` pipes them into `.yiwang/logs/<name>.log` and rotates it
(`ops/cli/supervisor.py`); a container runtime collects them from stderr.

What must never reach a log: personal data. The code logs ids, counts and codes, never a
request's variables or a record's fields; as a second line of defence every message and
traceback is passed through `redact`, which masks mainland mobile numbers, 18-digit resident
ID numbers and any run of Chinese characters (names are written in them; log messages here
are English). Libraries that would log payloads are held at WARNING whatever the level:
PyMongo's command log carries documents, FastStream logs every message, uvicorn's access log
carries query strings (a GET request's variables).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from shared.tracing import trace_id

REQUEST_ID: ContextVar[str | None] = ContextVar("yiwang_request_id", default=None)
REQUEST_ID_HEADER = "Yiwang-Request-Id"  # on NATS requests from the gateway to the services

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# Held at WARNING or above: their lower levels log payloads.
QUIET = ("pymongo", "faststream", "uvicorn.access", "nats", "yiwang.faststream")


def redact(text: str) -> str:
    """Mask what looks like personal data: ID numbers, mobile numbers, Chinese text."""
    text = _ID_NUMBER.sub("[id-number]", text)
    text = _PHONE.sub("[phone]", text)
    return _HAN.sub("[zh]", text)


def request_id(candidate: str | None = None) -> str:
    """The caller's request id when it is a plain token (`X-Request-ID`), else a new one."""
    if candidate and _SAFE_ID.fullmatch(candidate):
        return candidate
    import uuid

    return uuid.uuid4().hex[:16]


class JsonLines(logging.Formatter):
    def __init__(self, process: str):
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "proc": self.process,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        if rid := getattr(record, "request_id", None) or REQUEST_ID.get():
            line["request_id"] = rid
        if tid := trace_id():
            line["trace_id"] = tid
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False)


def configure_logging(process: str, level: str | int = "INFO", stream: IO[str] | None = None) -> None:
    """Root logger -> one handler writing JSON lines to stderr; noisy libraries held quiet;
    uncaught exceptions logged (masked) rather than printed."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines(process))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    floor = max(logging.WARNING, root.level)
    for name in QUIET:
        logging.getLogger(name).setLevel(floor)
    logging.captureWarnings(True)

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        logging.getLogger(f"yiwang.{process}").critical("uncaught exception", exc_info=(kind, value, tb))

    sys.excepthook = excepthook
