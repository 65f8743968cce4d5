"""What a pass did, for the people or the log pipeline reading the job's output.

One entry per CR that changed or failed (an unchanged one is news to nobody), then
pruning, notices, errors and the totals. Text from CRs and Grafana goes through
`logformat.safe` in both forms (secrets scrubbed, control characters escaped), so no
CR can print control characters or forge a line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .logformat import LogFormat, json_line, safe
from .results import Outcome, Summary


def report(summary: Summary, dry_run: bool, out: Any, log_format: LogFormat = LogFormat.TEXT) -> None:
    """The pass, one entry per line; text from CRs is escaped (`safe`), so no CR
    can print control characters or a line of its own. `json`: one object a line, with
    the CR, outcome and reason as fields, for the same log pipeline as the logs."""

    def say(text: str, **fields: Any) -> None:
        if log_format is LogFormat.JSON:
            failed = fields.get("outcome") == Outcome.FAILED.value
            level = fields.pop("level", "warning" if failed else "info")
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
            entry = {"time": stamp, "level": level, "logger": "dawg.report", "message": safe(text)}
            for key, value in fields.items():
                entry[key] = safe(value) if isinstance(value, str) else [safe(line) for line in value]
            print(json_line(entry), file=out)
            return
        print(safe(text), file=out)
        for warning in fields.get("warnings", ()):
            print(safe(f"    warning: {warning}"), file=out)
        for line in fields.get("diff", ()):
            print(safe(f"    {line}"), file=out)

    for result in sorted(summary.results, key=lambda r: r.key):
        if result.outcome is Outcome.UNCHANGED and not result.diff and not result.warnings:
            continue
        say(
            f"{result.key} ({result.uid}): {result.outcome.value} [{result.reason.value}] {result.message}",
            cr=result.key,
            uid=result.uid,
            outcome=result.outcome.value,
            reason=result.reason.value,
            warnings=list(result.warnings),
            diff=list(result.diff),
        )
    for uid in summary.pruned:
        say(f"pruned {uid}" if not dry_run else f"would prune {uid}", pruned=uid)
    for uid in summary.released:
        say(f"released {uid} (adopted; DAWG's marks removed, the dashboard kept)", released=uid)
    for notice in summary.notices:
        say(f"notice: {notice}")
    for error in summary.errors:
        say(f"error: {error}", level="error")
    say(summary.line(dry_run))
