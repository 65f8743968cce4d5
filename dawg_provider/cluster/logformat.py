"""Log lines for people (`text`) or for a log pipeline (`json`, one object a line).

Why an option: in a cluster the controller's and the job's stderr go to Loki,
Elasticsearch or Cloud Logging, which index fields when each line is a JSON object
(`level`, `logger`, `message`, ...) and otherwise see a wall of text; on a terminal
people read text. Both forms say the same thing with the same protections:

- every message goes through `errors.scrub` (registered secrets and credential-shaped
  text become `[redacted]`), whatever the call site passed, exception text included;
- control and format characters are escaped by `errors.printable`, as in the text
  logs, so a CR's text can neither drive a terminal nor forge a log entry; in JSON the
  object is also encoded ASCII-only, so no raw newline or bidi override reaches a line.

`record_fields` is pure (a log record in, a dict out); the formatters are plumbing.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from ..errors import printable, scrub


class LogFormat(Enum):
    """How log lines are written."""

    TEXT = "text"
    JSON = "json"


def record_fields(record: logging.LogRecord, exception: str | None = None) -> dict[str, Any]:
    """The JSON object for one record: time (UTC, RFC 3339), level, logger, message."""
    fields: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": safe(record.getMessage()),
    }
    if exception:
        fields["exception"] = safe(exception)
    return fields


def safe(text: str) -> str:
    """Scrubbed of secrets, then escaped: the order matters, an escape could split a secret."""
    return printable(scrub(text))


def json_line(fields: dict[str, Any]) -> str:
    """One line, ASCII-only, whatever the fields hold."""
    return json.dumps(fields, ensure_ascii=True, separators=(",", ":"), default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return json_line(record_fields(record, exception))


class TextFormatter(logging.Formatter):
    """`dawg: <message>`, scrubbed and escaped like the JSON form."""

    def format(self, record: logging.LogRecord) -> str:
        text = "dawg: " + safe(record.getMessage())
        if record.exc_info:
            text += "\n" + safe(self.formatException(record.exc_info))
        return text


def configure(log_format: LogFormat, verbose: bool) -> None:
    """Route the root logger to stderr in the chosen form (replacing earlier handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
