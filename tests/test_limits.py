"""Limits and the parsing of human-written sizes and durations."""

from __future__ import annotations

import pytest

from dawg_provider import InvalidLimit, Limits, parse_duration, parse_size
from dawg_provider.units import format_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("256Mi", 256 << 20),
        ("256MiB", 256 << 20),
        ("64k", 64 << 10),
        ("1G", 1 << 30),
        ("1024", 1024),
        ("1.5Mi", 3 << 19),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(("text", "seconds"), [("5s", 5.0), ("500ms", 0.5), ("1m", 60.0), ("2.5", 2.5)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["lots", "-1Mi", "5 parsecs", ""])
def test_bad_sizes_say_what_was_wrong(text: str) -> None:
    with pytest.raises(InvalidLimit, match="--memory: cannot read"):
        parse_size(text, "--memory")


def test_bad_duration_names_the_flag() -> None:
    with pytest.raises(InvalidLimit, match="--timeout: cannot read 'soon'"):
        parse_duration("soon", "--timeout")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout must be between"),
        ({"timeout": 601}, "timeout must be between"),
        ({"memory": 1 << 20}, "at least 32 MiB"),
        ({"memory": 8 << 30}, "at most 4 GiB"),
        ({"max_output": 10}, "at least 1 KiB"),
    ],
)
def test_out_of_range_limits_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidLimit, match=message):
        Limits(**kwargs)  # type: ignore[arg-type]


def test_format_size() -> None:
    assert [format_size(n) for n in (10, 2048, 3 << 19, 256 << 20, 1 << 30)] == [
        "10 B",
        "2 KiB",
        "1.5 MiB",
        "256 MiB",
        "1 GiB",
    ]
