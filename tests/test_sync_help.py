"""`dawg sync --help` says what the exit codes mean, as `command.exit_code` decides them:
an operator writes CronJob alerting from this text."""

from __future__ import annotations

import re
import subprocess
import sys

from dawg_provider.cluster.command import EXIT_CR_ERRORS, EXIT_JOB_FAILED, exit_code
from dawg_provider.cluster.crd import Reason
from dawg_provider.cluster.results import CrResult, Outcome, Summary


def codes(help_text: str) -> dict[int, str]:
    return {int(code): text for code, text in re.findall(r"^\s+(\d)\s+(.+)$", help_text, re.M)}


def test_the_help_states_each_exit_code_exit_code_returns() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dawg_provider", "sync", "--help"], capture_output=True, text=True, check=True
    )
    stated = codes(result.stdout)
    failed = Summary(results=[CrResult("ns/a", "u", Outcome.FAILED, Reason.GENERATOR_FAILED, "bad")])
    broken = Summary(errors=["listing failed"])
    assert exit_code(failed) == 0 and "status" in stated[0]  # a failed Dashboard alone: 0
    assert exit_code(broken) == EXIT_JOB_FAILED and "job itself failed" in stated[EXIT_JOB_FAILED]
    assert exit_code(failed, fail_on_cr_errors=True) == EXIT_CR_ERRORS
    assert "--fail-on-cr-errors" in stated[EXIT_CR_ERRORS]
    assert "when any Dashboard failed" not in result.stdout
