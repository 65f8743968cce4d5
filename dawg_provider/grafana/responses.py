"""Reading Grafana's HTTP answers: bodies, its own error words, Retry-After, and URLs
safe to print (no credentials, no query). Pure functions over `requests` objects.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from ..errors import scrub


def json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def grafana_message(response: requests.Response) -> tuple[str, str | None]:
    body = json_body(response)
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("title") or response.reason or "")
        word = body.get("status") or body.get("messageId")
        if body.get("kind") == "Status":  # a k8s Status from /apis: the word is its reason
            word = body.get("reason")
        return message, str(word) if word else None
    text = scrub(response.text.strip() if isinstance(body, str) or not body else str(body), 200)
    return text or str(response.reason or ""), None


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def connection_reason(error: requests.ConnectionError) -> str:
    text = str(error)
    for marker, reason in (
        ("Connection refused", "connection refused"),
        ("RemoteDisconnected", "the connection was closed without an answer"),
        ("Connection reset", "the connection was reset"),
        ("Name or service not known", "the host name does not resolve"),
        ("CERTIFICATE_VERIFY_FAILED", "TLS verification failed (give the CA bundle)"),
    ):
        if marker in text:
            return reason
    return "connection error"


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
