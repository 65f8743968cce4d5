"""`--log-format json` for `dawg sync` and `dawg controller`: one JSON object a line,
secrets scrubbed and control characters escaped exactly as in the text logs."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dawg_provider.cli import build_parser
from dawg_provider.cluster.crd import Reason
from dawg_provider.cluster.logformat import JsonFormatter, LogFormat, TextFormatter, configure
from dawg_provider.cluster.report import report
from dawg_provider.cluster.results import CrResult, Outcome, Summary
from dawg_provider.errors import printable, register_secret

SECRET = "Zq8vR2mK4pL7sN1x"  # no credential shape: only registration can find it
HOSTILE = f"CR says \x1b[2J\x1b[31mgreen\r\nforged: ok \u202eevil token={SECRET} {SECRET}"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("dawg.sync", logging.WARNING, __file__, 1, message, args, None)


def test_a_json_log_line_is_one_ascii_object_scrubbed_and_escaped_like_the_text_log() -> None:
    register_secret(SECRET)
    line = JsonFormatter().format(_record("%s", HOSTILE))
    assert "\n" not in line and "\r" not in line and line.isascii()
    fields = json.loads(line)
    assert set(fields) == {"time", "level", "logger", "message"}
    assert (fields["level"], fields["logger"]) == ("warning", "dawg.sync")
    assert fields["time"].endswith("+00:00")
    assert SECRET not in line and "[redacted]" in fields["message"]
    text = TextFormatter().format(_record("%s", HOSTILE))
    assert text == "dawg: " + fields["message"]  # the same words in both forms
    assert "\x1b" not in fields["message"] and "\\x1b[2J" in fields["message"]
    assert "\\u202e" in fields["message"] and "\\x0d" in fields["message"]


def test_exceptions_are_scrubbed_too() -> None:
    register_secret(SECRET)
    try:
        raise RuntimeError(f"connect failed with {SECRET}\x1b[0m")
    except RuntimeError:
        record = logging.LogRecord("dawg", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    fields = json.loads(JsonFormatter().format(record))
    assert "RuntimeError" in fields["exception"] and SECRET not in fields["exception"]
    assert "\x1b" not in fields["exception"]


def test_printable_is_idempotent_so_escaped_call_sites_are_not_indented_twice() -> None:
    once = printable(HOSTILE + "\nsecond line")
    assert printable(once) == once
    assert "\nsecond" not in once  # a newline never starts a line of its own


def test_the_report_in_json_carries_the_cr_as_fields() -> None:
    register_secret(SECRET)
    failed = CrResult("team/web", "dawg-web", Outcome.FAILED, Reason.GENERATOR_FAILED, HOSTILE)
    changed = CrResult("team/api", "dawg-api", Outcome.UPDATED, Reason.UPDATED, "1 panel changed", ("~ a",))
    summary = Summary(results=[failed, changed], errors=[f"status write failed: {SECRET}"])
    out = io.StringIO()
    report(summary, False, out, LogFormat.JSON)
    lines = out.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]
    assert all(line.isascii() for line in lines) and SECRET not in out.getvalue()
    api, web, error, total = entries
    assert (api["cr"], api["outcome"], api["reason"], api["diff"]) == (
        "team/api",
        "updated",
        "Updated",
        ["~ a"],
    )
    assert (web["level"], web["outcome"], web["uid"]) == ("warning", "failed", "dawg-web")
    assert "\x1b" not in web["message"] and "[redacted]" in web["message"]
    assert error["level"] == "error" and "[redacted]" in error["message"]
    assert total["message"].startswith("dawg sync: 2 dashboards") and total["level"] == "info"
    text = io.StringIO()
    report(summary, False, text)
    assert SECRET not in text.getvalue() and "\x1b" not in text.getvalue()
    assert "team/web (dawg-web): failed [GeneratorFailed]" in text.getvalue()


@pytest.mark.parametrize("command", ["sync", "controller"])
def test_both_cluster_commands_take_the_flag(command: str) -> None:
    parser = build_parser()
    assert parser.parse_args([command, "--log-format", "json"]).log_format == "json"
    assert parser.parse_args([command]).log_format == "text"
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--log-format", "xml"])


def test_configure_routes_the_root_logger() -> None:
    configure(LogFormat.JSON, verbose=True)
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter) and logging.getLogger().level == logging.INFO


def test_dawg_sync_writes_json_logs_and_a_json_report(tmp_path: Path) -> None:
    """The real command: a Grafana nobody listens on fails the pass; every line of both
    streams is a JSON object, and the token given on the command line appears in none."""
    token = "glsa_" + SECRET
    (tmp_path / "m").mkdir()
    env = {**os.environ, "GRAFANA_URL": "http://127.0.0.1:9", "GRAFANA_TOKEN": token}
    env["DAWG_CACHE_DIR"] = str(tmp_path / "c")
    command = [sys.executable, "-m", "dawg_provider", "-v", "sync", "--manifests", str(tmp_path / "m")]
    done = subprocess.run(
        [*command, "--log-format", "json"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip(), done.stderr
    for line in (done.stdout + done.stderr).splitlines():
        assert isinstance(json.loads(line), dict), line
    controller = [sys.executable, "-m", "dawg_provider", "controller", "--manifests", str(tmp_path / "m")]
    bad = subprocess.run(
        [*controller, "--log-format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # refused before it starts: the command's own last word is JSON too
    assert bad.returncode != 0 and bad.stderr.strip()
    for line in bad.stderr.splitlines():
        assert json.loads(line)["level"] == "error", line
    assert token not in done.stdout + done.stderr and SECRET not in done.stdout + done.stderr
