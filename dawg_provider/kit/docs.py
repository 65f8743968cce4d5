"""`dawg docs`: a generator's config reference in Markdown, from the schema in its bytes.

Users learn a generator's fields from this page instead of from error messages. It
is made from the same schema DAWG validates configs with, so it cannot drift from
what is enforced: a field's local `$ref` is followed and the members of its `allOf`
merged in (their fields and required names joined; the field's own words first), as
validation applies them. Pure: schema in, text out.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from ..wasm.schema_bounds import anchors_of, resolve

MAX_DEPTH = 8
Walk = tuple[Callable[[Any], dict[str, Any]], Callable[[Any], int]]
"""How `_rows` follows the schema: a subschema merged with its `$ref`/`allOf`, and its origin."""


def config_reference(generator: str, schema: dict[str, Any] | None) -> str:
    """The Markdown page for `generator`'s config (a short note when it declares no schema)."""
    title = schema.get("title") if isinstance(schema, dict) else None
    lines = [f"# {title or 'Config'} ({generator})", ""]
    if schema is None:
        lines += [
            "This generator declares no config schema (no `dawg.config-schema` section), so",
            "DAWG passes its config through unchecked. Ask its author, or read its README.",
        ]
        return "\n".join(lines) + "\n"
    anchors = anchors_of(schema)

    def flat(node: Any) -> dict[str, Any]:
        return _flat(node, schema, anchors, frozenset())

    def origin(node: Any) -> int:
        """Which schema a field's `$ref` names (itself without one): recursion stops there."""
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            try:
                return id(resolve(node["$ref"], schema, anchors))
            except KeyError:
                pass
        return id(node)

    if isinstance(schema.get("description"), str):
        lines += [schema["description"], ""]
    top = flat(schema)
    rows = list(_rows(top, "", (flat, origin), 0, {id(schema): "the config"}))
    if rows:
        lines += [
            "| field | type | required | default | description |",
            "|---|---|---|---|---|",
            *(f"| {' | '.join(_cell(cell) for cell in row)} |" for row in rows),
            "",
        ]
    if top.get("additionalProperties") is False:
        lines += ["Fields not listed here are refused.", ""]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        lines += ["Example:", "", "```json", json.dumps(examples[0], indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def _flat(node: Any, root: Any, anchors: dict[str, Any], seen: frozenset[int]) -> dict[str, Any]:
    """`node` with its local `$ref` and `allOf` members merged in; a cycle stops at its start."""
    if not isinstance(node, dict) or id(node) in seen:
        return {}
    seen = seen | {id(node)}
    merged = {key: value for key, value in node.items() if key not in ("$ref", "allOf")}
    parts = list(node["allOf"]) if isinstance(node.get("allOf"), list) else []
    if isinstance(node.get("$ref"), str):
        with contextlib.suppress(KeyError):  # refused when loaded; here: shown as written
            parts.insert(0, resolve(node["$ref"], root, anchors))
    for part in parts:
        for key, value in _flat(part, root, anchors, seen).items():
            mine = merged.get(key)
            if key == "properties" and isinstance(value, dict):
                merged[key] = {**value, **(mine if isinstance(mine, dict) else {})}
            elif key == "required" and isinstance(value, list):
                merged[key] = [*(mine if isinstance(mine, list) else []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _rows(schema: dict[str, Any], prefix: str, walk: Walk, depth: int, shown: dict[int, str]) -> Any:
    """One row per field, depth first; a field whose `$ref` names a schema already being
    shown above it (a recursive schema) says so instead of repeating its fields."""
    flat, origin = walk
    properties = schema.get("properties")
    if not isinstance(properties, dict) or depth > MAX_DEPTH:
        return
    wanted = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    for name in sorted(properties):
        field = flat(properties[name])
        raw_items = field.get("items")
        items = flat(raw_items)
        if items:
            field["items"] = items  # for _type: "array of <the referenced type>"
        path = f"{prefix}{name}"
        again = shown.get(origin(properties[name])) or (shown.get(origin(raw_items)) if items else None)
        words = _describe(field)
        yield (
            f"`{path}`",
            _type(field),
            "yes" if name in wanted else "no",
            f"`{json.dumps(field['default'])}`" if "default" in field else "",
            "; ".join(filter(None, [words, f"the fields of {again}" if again else ""])),
        )
        if again:
            continue
        yield from _rows(field, path + ".", walk, depth + 1, {**shown, origin(properties[name]): f"`{path}`"})
        if items:
            below = {**shown, origin(raw_items): f"`{path}[]`"}
            yield from _rows(items, path + "[].", walk, depth + 1, below)


def _type(field: dict[str, Any]) -> str:
    kind = field.get("type")
    if isinstance(kind, list):
        text = " or ".join(str(k) for k in kind)
    elif isinstance(kind, str):
        text = kind
    elif "enum" in field:
        text = "enum"
    else:
        text = "any"
    items = field.get("items")
    if text == "array" and isinstance(items, dict) and isinstance(items.get("type"), str):
        text = f"array of {items['type']}"
    return text


def _describe(field: dict[str, Any]) -> str:
    parts = [field["description"].rstrip(".")] if isinstance(field.get("description"), str) else []
    if isinstance(field.get("enum"), list):
        parts.append("one of " + ", ".join(f"`{json.dumps(v)}`" for v in field["enum"]))
    if isinstance(field.get("pattern"), str):
        parts.append(f"matches `{field['pattern']}`")
    if field.get("minLength") == 1:
        parts.append("not empty")
    for keyword, words in (
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("minimum", "at least {}"),
        ("maximum", "at most {}"),
    ):
        if keyword in field and not (keyword == "minLength" and field[keyword] == 1):
            parts.append(words.format(field[keyword]))
    return "; ".join(parts)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())
