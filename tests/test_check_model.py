"""`render.check_model`, the output policy every adapter applies: a generator controls how
many findings it has, so the warnings each adapter prints, logs or stores are capped."""

from __future__ import annotations

import time

import pytest

from dawg_provider.errors import InvalidDashboard
from dawg_provider.render import MAX_MODEL_WARNINGS, check_model


def test_a_flood_of_warnings_is_capped_with_a_count() -> None:
    panels = [{"id": 1} for _ in range(120_000)]  # no type, and the same id: 2 findings each but the first
    started = time.perf_counter()
    warnings = check_model("gen", {"title": "t", "schemaVersion": 39, "panels": panels})
    assert time.perf_counter() - started < 30  # linear: seconds on a loaded machine, no blow-up
    assert len(warnings) == MAX_MODEL_WARNINGS + 1
    assert warnings[0].startswith("generator gen: dashboard panels[0].type:")
    assert warnings[-1] == (
        f"generator gen: dashboard: ... and {2 * 120_000 - 1 - MAX_MODEL_WARNINGS} more warnings like these "
        "(check the whole file with `dawg validate`)"
    )


def test_up_to_the_cap_every_warning_is_kept() -> None:
    panels = [{"type": f"p{i}"} for i in range(MAX_MODEL_WARNINGS)]
    warnings = check_model("gen", {"title": "t", "schemaVersion": 39, "panels": panels})
    assert len(warnings) == MAX_MODEL_WARNINGS and all("more warnings" not in w for w in warnings)


def test_errors_still_refuse_whatever_the_warnings() -> None:
    panels = [{"type": f"p{i}"} for i in range(100)] + [{"type": "text", "gridPos": {"h": "1"}}]
    with pytest.raises(InvalidDashboard, match=r"panels\[100\].gridPos"):
        check_model("gen", {"title": "t", "schemaVersion": 39, "panels": panels})


def test_a_huge_panel_type_makes_a_short_warning() -> None:
    (warning,) = check_model(
        "gen", {"title": "t", "schemaVersion": 39, "panels": [{"type": "x" * 1_000_000}]}
    )
    assert len(warning) < 400 and warning.endswith("...")
    assert warning.startswith("generator gen: dashboard panels[0].type: 'xxx")
