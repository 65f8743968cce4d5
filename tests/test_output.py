"""Output validation, as a pure function of the bytes a generator wrote."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dawg_provider import InvalidOutput
from dawg_provider.wasm.output import MAX_DEPTH, nesting_depth, parse_dashboard, without_identity

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6), st.text(min_size=1).filter(str.strip))
def test_any_object_with_a_title_round_trips(extra: dict[str, Any], title: str) -> None:
    dashboard = {**extra, "title": title}
    assert parse_dashboard("g", json.dumps(dashboard).encode()) == dashboard


@given(json_values.filter(lambda v: not isinstance(v, dict)))
def test_anything_but_an_object_is_refused(value: Any) -> None:
    with pytest.raises(InvalidOutput, match="not an object"):
        parse_dashboard("g", json.dumps(value).encode())


def test_depth_limit_is_exact() -> None:
    def nested(depth: int) -> dict[str, Any]:
        value: dict[str, Any] = {"title": "t"}
        for _ in range(depth - 1):
            value = {"title": "t", "a": value}
        return value

    assert nesting_depth(nested(MAX_DEPTH)) == MAX_DEPTH
    parse_dashboard("g", json.dumps(nested(MAX_DEPTH)).encode())
    with pytest.raises(InvalidOutput, match="nests more than 64 levels deep"):
        parse_dashboard("g", json.dumps(nested(MAX_DEPTH + 1)).encode())


@given(json_values)
def test_depth_matches_a_recursive_definition(value: Any) -> None:
    def depth(item: Any) -> int:
        if isinstance(item, dict):
            return 1 + max(map(depth, item.values()), default=0)
        if isinstance(item, list):
            return 1 + max(map(depth, item), default=0)
        return 0

    assert nesting_depth(value) == depth(value)


def test_brackets_inside_strings_do_not_count() -> None:
    assert nesting_depth(json.loads(b'{"title": "[[[{{{\\"]]]", "a": [1]}')) == 2


def test_nesting_bomb_is_refused_without_recursion_error() -> None:
    with pytest.raises(InvalidOutput, match="nests more than 64 levels deep"):
        parse_dashboard("g", b"[" * 200_000 + b"]" * 200_000)


@pytest.mark.parametrize("raw", [b'{"title": "x", "v": Infinity}', b'{"title": "x", "v": -Infinity}'])
def test_non_json_constants_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidOutput, match="not valid JSON"):
        parse_dashboard("g", raw)


def test_errors_name_the_generator() -> None:
    with pytest.raises(InvalidOutput) as caught:
        parse_dashboard("oci://reg/team/gen:v1 (sha256:abc)", b"{}")
    assert str(caught.value).startswith(
        "generator oci://reg/team/gen:v1 (sha256:abc): the dashboard has no title"
    )


def test_non_json_stdout_shows_its_first_bytes_and_where_logs_go() -> None:
    with pytest.raises(InvalidOutput) as caught:
        parse_dashboard("g", b"loading config...\n" + b"x" * 500)
    message = str(caught.value)
    assert 'it starts with "loading config...\\nxxx' in message and "(518 bytes)" in message
    assert "write logs and debug prints to stderr" in message
    with pytest.raises(InvalidOutput) as caught:
        parse_dashboard("g", b"\x1b[31mred\x00")  # control bytes are shown escaped, never raw
    assert 'starts with "\\u001b[31mred\\u0000"' in str(caught.value)


def test_uid_and_id_are_dropped_with_a_warning_each() -> None:
    dashboard, warnings = without_identity("g", {"title": "t", "uid": "abc", "id": 7, "panels": []})
    assert dashboard == {"title": "t", "panels": []}
    assert len(warnings) == 2
    assert 'sets \'uid\' ("\\"abc\\"")' in warnings[0] and "DAWG dropped it" in warnings[0]
    assert "sets 'id' (\"7\")" in warnings[1]
    untouched = {"title": "t"}
    assert without_identity("g", untouched) == (untouched, ())
