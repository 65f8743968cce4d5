"""How much work a generator's config schema can cause, decided from the schema alone.

jsonschema checks a config by walking the schema against it in the host process,
outside the sandbox's time and memory limits, following local `$ref`s lazily with no
guard of its own. The schema comes from the generator's author, so two tiny shapes
would hang every render, Pulumi check and sync pass that uses the generator:

- a `$ref` cycle that never moves into the config (`{"$ref": "#"}`, 13 bytes) recurses
  until Python's stack gives out;
- nested `anyOf`s of two `$ref`s to the next level (2.8 KB) double the work per level:
  2^40 evaluations of one config value, and jsonschema keeps every failed branch.

Subschemas come in two kinds. *In place* ones (`$ref`, `allOf`, `anyOf`, `oneOf`,
`not`, `if`/`then`/`else`, `dependentSchemas`, ...) apply to the same config value;
the others (`properties`, `items`, ...) to a part of it, so a cycle through them
ends with the config, whose depth is bounded. `in_place_problem` refuses a cycle of
in-place subschemas, more than MAX_IN_PLACE of them applied to one value, or a chain
of them deeper than MAX_CHAIN. What is left (a big config times a legal schema) is
bounded while checking, by a step budget (`config_schema`).

References are resolved here as jsonschema resolves them for a single-resource
schema: `#`, `#/json/pointer` and `#name` (an `$anchor`). Constructs whose target
depends on the path taken (`$dynamicRef`, `$recursiveRef`) or that start another
resource (`$id` below the top) cannot be bounded this way and are refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

MAX_IN_PLACE = 5_000
"""In-place subschemas applied to one config value, counting each use of a `$ref`."""
MAX_CHAIN = 24
"""In-place subschemas nested in one another, `$ref`s followed (Python's stack bound)."""

IN_PLACE_ONE = ("$ref", "not", "if", "then", "else")
IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")
IN_PLACE_MAP = ("dependentSchemas", "dependencies")
UNBOUNDED = ("$dynamicRef", "$recursiveRef")
# Subschemas that apply to a part of the value, and places that only hold subschemas.
PART_ONE = (
    "additionalProperties",
    "unevaluatedProperties",
    "propertyNames",
    "contains",
    "additionalItems",
    "unevaluatedItems",
    "items",
    "extends",
)
PART_MAP = ("properties", "patternProperties", "$defs", "definitions")
PART_MANY = ("prefixItems", "items", "extends")


def in_place_problem(root: Any) -> str | None:
    """Why checking a config against `root` could not be bounded, or None. Pure, no recursion."""
    anchors: dict[str, Any] = {}
    for node in _schemas(root):
        if isinstance(node, dict):
            if node is not root and isinstance(node.get("$id"), str):
                return f"sets $id below its top ({_clip(node['$id'])!r}); one schema resource only"
            for keyword in UNBOUNDED:
                if keyword in node:
                    return f"uses {keyword}, whose target DAWG cannot bound; use $ref"
            if isinstance(node.get("$anchor"), str):
                anchors[node["$anchor"]] = node

    cost: dict[int, int] = {}
    chain: dict[int, int] = {}
    for start in _schemas(root):
        if id(start) not in cost:
            problem = _measure(start, root, anchors, cost, chain)
            if problem:
                return problem
    return None


def _measure(
    start: Any, root: Any, anchors: dict[str, Any], cost: dict[int, int], chain: dict[int, int]
) -> str | None:
    """Depth-first along the in-place edges from `start`, filling `cost` and `chain`."""
    on_path: set[int] = set()
    stack: list[tuple[Any, list[Any] | None]] = [(start, None)]
    while stack:
        node, children = stack[-1]
        if children is None:
            if id(node) in cost:
                stack.pop()
                continue
            found = _in_place(node, root, anchors)
            if isinstance(found, str):
                return found
            on_path.add(id(node))
            stack[-1] = (node, found)
            for child in found:
                if id(child) in on_path:
                    return "has a $ref cycle that never moves into the config (it would recurse forever)"
                if id(child) not in cost:
                    stack.append((child, None))
            continue
        stack.pop()
        on_path.discard(id(node))
        cost[id(node)] = 1 + sum(cost[id(child)] for child in children)
        chain[id(node)] = 1 + max((chain[id(child)] for child in children), default=0)
        if cost[id(node)] > MAX_IN_PLACE:
            return (
                f"applies more than {MAX_IN_PLACE} subschemas to one config value "
                "(nested anyOf/allOf/oneOf through $ref multiply); checking it would not end"
            )
        if chain[id(node)] > MAX_CHAIN:
            return f"nests more than {MAX_CHAIN} $ref/allOf/anyOf/oneOf/not/if levels on one config value"
    return None


def anchors_of(root: Any) -> dict[str, Any]:
    """The subschemas of `root` named by an `$anchor`, for `resolve`."""
    return {
        node["$anchor"]: node
        for node in _schemas(root)
        if isinstance(node, dict) and isinstance(node.get("$anchor"), str)
    }


def resolve(ref: str, root: Any, anchors: dict[str, Any]) -> Any:
    """The subschema a local `$ref` names; KeyError when there is none."""
    fragment = unquote(ref.partition("#")[2])
    if not fragment:
        return root
    if not fragment.startswith("/"):
        return anchors[fragment]
    node = root
    for escaped in fragment[1:].split("/"):
        token = escaped.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict):
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(token)
    return node


def _in_place(node: Any, root: Any, anchors: dict[str, Any]) -> list[Any] | str:
    """The subschemas applied to the same value as `node` (the `$ref` target resolved)."""
    if not isinstance(node, dict):
        return []
    found: list[Any] = []
    for keyword in IN_PLACE_ONE:
        value = node.get(keyword)
        if keyword == "$ref" and isinstance(value, str):
            try:
                value = resolve(value, root, anchors)
            except KeyError:
                return f"refers to {_clip(value)!r}, which is not in the schema"
            if not isinstance(value, dict | bool):
                return f"refers to {_clip(node['$ref'])!r}, which is not a schema"
        if isinstance(value, dict | bool):
            found.append(value)
    for keyword in IN_PLACE_MANY:
        if isinstance(node.get(keyword), list):
            found.extend(node[keyword])
    for keyword in IN_PLACE_MAP:
        if isinstance(node.get(keyword), dict):
            found.extend(value for value in node[keyword].values() if isinstance(value, dict | bool))
    return found


def _parts(node: Any) -> list[Any]:
    """The subschemas of `node` that apply to a part of its value, or are only held by it."""
    if not isinstance(node, dict):
        return []
    found: list[Any] = []
    for keyword in PART_ONE:
        if isinstance(node.get(keyword), dict | bool):
            found.append(node[keyword])
    for keyword in PART_MAP:
        if isinstance(node.get(keyword), dict):
            found.extend(node[keyword].values())
    for keyword in PART_MANY:
        if isinstance(node.get(keyword), list):
            found.extend(node[keyword])
    return found


def _schemas(root: Any) -> list[Any]:
    """Every subschema of `root` by position (in place or not), breadth first."""
    found, level = [], [root]
    while level:
        found.extend(level)
        level = [child for node in level for child in (*_parts(node), *_in_place_positions(node))]
    return found


def _in_place_positions(node: Any) -> list[Any]:
    if not isinstance(node, dict):
        return []
    found = [node[k] for k in IN_PLACE_ONE if k != "$ref" and isinstance(node.get(k), dict | bool)]
    found += [item for k in IN_PLACE_MANY if isinstance(node.get(k), list) for item in node[k]]
    found += [
        value
        for k in IN_PLACE_MAP
        if isinstance(node.get(k), dict)
        for value in node[k].values()
        if isinstance(value, dict | bool)
    ]
    return found


def _clip(text: str, most: int = 100) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."
