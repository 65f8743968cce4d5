"""`dawg docs`: a generator's config reference in Markdown, from the schema in its bytes.

Users learn a generator's fields from this page instead of from error messages. It
is made from the same schema DAWG validates configs with, so it cannot drift from
what is enforced. Pure: schema in, text out.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 8


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
    if isinstance(schema.get("description"), str):
        lines += [schema["description"], ""]
    rows = list(_rows(schema, "", set(), 0))
    if rows:
        lines += [
            "| field | type | required | default | description |",
            "|---|---|---|---|---|",
            *(f"| {' | '.join(_cell(cell) for cell in row)} |" for row in rows),
            "",
        ]
    if schema.get("additionalProperties") is False:
        lines += ["Fields not listed here are refused.", ""]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        lines += ["Example:", "", "```json", json.dumps(examples[0], indent=2, sort_keys=True), "```", ""]
    return "\n".join(lines)


def _rows(schema: dict[str, Any], prefix: str, required: set[str], depth: int) -> Any:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or depth > MAX_DEPTH:
        return
    wanted = set(schema.get("required") or []) if isinstance(schema.get("required"), list) else set()
    for name in sorted(properties):
        field = properties[name] if isinstance(properties[name], dict) else {}
        path = f"{prefix}{name}"
        yield (
            f"`{path}`",
            _type(field),
            "yes" if name in wanted else "no",
            f"`{json.dumps(field['default'])}`" if "default" in field else "",
            _describe(field),
        )
        yield from _rows(field, path + ".", required, depth + 1)
        items = field.get("items")
        if isinstance(items, dict):
            yield from _rows(items, path + "[].", required, depth + 1)


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
