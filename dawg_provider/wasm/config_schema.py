"""A generator's config schema: declared in its own bytes, checked before it runs.

A generator may carry a JSON Schema for its config in the top-level custom section
`dawg.config-schema` (see `sections`). DAWG checks every config against it before
the generator starts, in every adapter (the CLI, the Pulumi check, the sync job all
go through `Runtime.run`), and reports each bad field by its path
(`config.replicas: must be integer, got string "three"`). A generator without the
section is run as before: its config is opaque.

The schema comes from whoever built the generator, so it is untrusted input too:

- at most 64 KiB, JSON, at most 32 levels deep, and a valid schema (checked once);
- no `$ref` outside the schema itself: references are resolved in memory only,
  and a registry that refuses to retrieve anything backs that up (jsonschema would
  otherwise fetch remote references over the network);
- `pattern` and `patternProperties` run on RE2, which matches in linear time, so a
  pathological pattern like `^(a+)+$` cannot hang a render; patterns RE2 cannot run
  (backreferences, lookaround) are refused when the schema is loaded;
- no `$ref` cycle or `anyOf` fan-out that would make one check endless or
  exponential (`schema_bounds`, refused when loaded), and every check stops after
  MAX_STEPS keyword evaluations: it runs in the host process, where neither the
  sandbox's limits nor a sync pass's deadline can stop it.

The config is read as YAML (`config_yaml`); an empty config is checked as `{}`.
Checking a typical config costs ~0.1 ms per render (bench/bench_schema.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:  # imported when a schema is first loaded: jsonschema costs ~0.1-0.5 s to import
    import jsonschema
    import re2
    import referencing
    from jsonschema.protocols import Validator

from ..errors import ConfigInvalid, InvalidModule
from .config_yaml import parse_config
from .schema_bounds import in_place_problem
from .sections import SectionError, read_custom_section

SECTION = "dawg.config-schema"
ANNOTATION = "cc.urcloud.dawg.config-schema"
MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 32
MAX_PROBLEMS = 20
MAX_STEPS = 50_000
"""Work one config check may do: a keyword evaluation costs 1 plus the length of its
schema value, plus the config value's for keywords that loop over it without
descending (an example config takes ~20; ~30 us a step on a loaded machine)."""
_LOOPING = frozenset(
    {"uniqueItems", "additionalProperties", "patternProperties", "unevaluatedProperties", "unevaluatedItems"}
)
UNBOUNDED = "DAWG refuses a schema whose checking it cannot bound (docs/generator-contract.md)"
REMOTE_REFS = "a config schema may only $ref inside itself (#/...); DAWG never fetches schemas"


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re2._Regexp[str]:
    import re2

    return re2.compile(pattern)


def _pattern(validator: Validator, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    import jsonschema

    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{_short(instance)} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _regex(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


class _OverBudget(Exception):
    """A config check spent its MAX_STEPS."""


_STEPS: ContextVar[list[int] | None] = ContextVar("dawg_schema_steps", default=None)


def _metered(name: str, keyword: Callable[..., Any]) -> Callable[..., Any]:
    """`keyword`, charged to the running check (every descent goes through a keyword)."""
    looping = name in _LOOPING

    def metered(validator: Validator, value: Any, instance: Any, schema: Any) -> Any:
        left = _STEPS.get()
        if left is not None:
            left[0] -= 1 + (len(value) if type(value) in (dict, list) else 0)
            if looping and type(instance) in (dict, list):
                left[0] -= len(instance)
            if left[0] < 0:
                raise _OverBudget
        return keyword(validator, value, instance, schema)

    return metered


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """`additionalProperties` with RE2: jsonschema matches `patternProperties` with Python's re."""
    import jsonschema

    if not validator.is_type(instance, "object"):
        return
    extras = _extras(instance, schema)
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif extra is False and extras:
        yield jsonschema.ValidationError(f"unknown fields: {', '.join(map(repr, extras))}")


def _extras(instance: dict[str, Any], schema: Any) -> list[str]:
    """Keys neither in `properties` nor matched by a `patternProperties` pattern (as jsonschema's
    _utils.find_additional_properties decides, with RE2)."""
    known = schema.get("properties", {}) if isinstance(schema, dict) else {}
    patterns = list(schema.get("patternProperties", {})) if isinstance(schema, dict) else []
    return [
        key
        for key in instance
        if key not in known and not any(_regex(pattern).search(key) for pattern in patterns)
    ]


def _unique_items(validator: Validator, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """`uniqueItems` in linear time: jsonschema compares every pair of mappings (O(n^2))."""
    import jsonschema

    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for index, item in enumerate(instance):
        key = json.dumps(_same_numbers(item), sort_keys=True, default=str)
        if key in seen:
            yield jsonschema.ValidationError(f"has a repeated item at [{index}]: {_short(item)}")
            return
        seen.add(key)


def _same_numbers(value: Any) -> Any:
    """`value` with 2.0 written as 2: JSON Schema compares numbers by value (true stays true)."""
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is list:
        return [_same_numbers(item) for item in value]
    if type(value) is dict:
        return {key: _same_numbers(item) for key, item in value.items()}
    return value


def _refuse_retrieval(uri: str) -> referencing.Resource[Any]:
    import referencing.exceptions

    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs class


@dataclass(frozen=True)
class ConfigSchema:
    """A generator's validated config schema, ready to check configs."""

    schema: dict[str, Any]
    text: str
    """The schema as compact JSON with sorted keys (what `dawg push` annotates)."""
    validator: Validator

    def problems(self, config: bytes) -> list[str]:
        """Each way `config` misses the schema, as `config.<path>: <why>`; empty when it fits."""
        try:
            instance = parse_config(config)
        except ValueError as error:
            return [f"config: {error}"]
        budget = _STEPS.set([MAX_STEPS])
        try:
            found = sorted(
                self.validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]
            )
        except _OverBudget:
            return [
                f"config: checking it against the generator's schema took more than {MAX_STEPS} steps "
                "and was stopped (a smaller config, or a simpler schema, would pass)"
            ]
        except RecursionError:
            return ["config: nests too deeply for the generator's schema to check"]
        finally:
            _STEPS.reset(budget)
        lines: list[str] = []
        for mismatch in found:
            lines.extend(_describe(mismatch))
        unique = list(dict.fromkeys(lines))
        if len(unique) > MAX_PROBLEMS:
            unique = [*unique[:MAX_PROBLEMS], f"... and {len(unique) - MAX_PROBLEMS} more"]
        return unique

    def check(self, generator: str, config: bytes) -> None:
        """Raise `ConfigInvalid` naming every bad field, before the generator runs."""
        problems = self.problems(config)
        if problems:
            raise ConfigInvalid(generator, problems)


def load_schema(generator: str, content: bytes) -> ConfigSchema:
    """Parse and check a schema taken from a generator; `InvalidModule` says what is wrong."""
    import jsonschema
    import referencing

    def bad(problem: str, hint: str = REMOTE_REFS) -> InvalidModule:
        return InvalidModule(generator, f"its {SECTION} section {problem}", hint)

    if len(content) > MAX_SCHEMA_BYTES:
        raise bad(f"is {len(content)} bytes, over the limit of {MAX_SCHEMA_BYTES}")
    try:
        schema = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise bad(f"is not JSON: {str(error).splitlines()[0][:200]}") from None
    if not isinstance(schema, dict):
        raise bad("is not a JSON Schema: it must be a JSON object")
    problem = _walk(schema)
    if problem:
        raise bad(problem)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "(top)"
        raise bad(f"is not a valid JSON Schema at {where}: {_clip(error.message)}") from None
    problem = in_place_problem(schema)
    if problem:
        raise bad(problem, UNBOUNDED)
    keywords = {**cls.VALIDATORS, "pattern": _pattern, "patternProperties": _pattern_properties}
    keywords["uniqueItems"] = _unique_items
    keywords["additionalProperties"] = _additional_properties
    metered = {name: _metered(name, keyword) for name, keyword in keywords.items()}
    safe = jsonschema.validators.extend(cls, metered)  # type: ignore[no-untyped-call]
    # Without a registry of its own, jsonschema would fetch remote $refs with urlopen.
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]
    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return ConfigSchema(schema, text, safe(schema, registry=registry))


def read_schema(generator: str, stream: BinaryIO) -> ConfigSchema | None:
    """The schema a generator declares in its bytes, or None when it declares none."""
    try:
        content = read_custom_section(stream, SECTION, MAX_SCHEMA_BYTES)
    except SectionError as error:
        raise InvalidModule(generator, f"has a malformed {SECTION} section: {error}") from None
    return None if content is None else load_schema(generator, content)


def _walk(schema: Any) -> str | None:
    """Depth, references and patterns of the whole schema, without recursion. Pure."""
    import re2

    text = json.dumps(schema)
    if '"unevaluatedProperties"' in text and '"patternProperties"' in text:
        # jsonschema decides unevaluated keys with Python's backtracking re (_utils.py,
        # find_evaluated_property_keys_by_schema), which `^(a+)+$` hangs.
        return "uses unevaluatedProperties with patternProperties; use additionalProperties"
    level: list[tuple[Any, int]] = [(schema, 1)]
    while level:
        node, depth = level.pop()
        if depth > MAX_SCHEMA_DEPTH:
            return f"nests more than {MAX_SCHEMA_DEPTH} levels deep"
        if isinstance(node, list):
            level.extend((item, depth + 1) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        for keyword in ("$ref", "$dynamicRef"):
            ref = node.get(keyword)
            if isinstance(ref, str) and not ref.startswith("#"):
                return f"refers to {_clip(ref, 100)!r} outside itself"
        patterns = (
            list(node.get("patternProperties") or {})
            if isinstance(node.get("patternProperties"), dict)
            else []
        )
        if isinstance(node.get("pattern"), str):
            patterns.append(node["pattern"])
        for pattern in patterns:
            try:
                _regex(pattern)
            except re2.error as error:
                return (
                    f"has a pattern RE2 cannot run in linear time ({_clip(pattern, 100)!r}: {error}); "
                    "backreferences and lookaround are not supported"
                )
        level.extend((value, depth + 1) for value in node.values())
    return None


def _describe(error: jsonschema.ValidationError) -> list[str]:
    """One line per bad field, worded as docs/generator-contract.md asks generators to word them."""
    path = _field_path(error.absolute_path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        known = sorted(schema.get("properties", {}))
        patterns = sorted(schema.get("patternProperties", {}))
        listing = ", ".join(known) + ("; or " if known and patterns else "")
        listing += f"names matching {', '.join(map(repr, patterns))}" if patterns else ""
        listing = f" (known fields: {listing})" if listing else ""
        extras = sorted(_extras(instance, schema))
        return [f'config: unknown field "{_join(path, key)}"{listing}' for key in extras] or [
            f"config: {_clip(error.message)}"
        ]
    if error.validator == "required" and isinstance(instance, dict):
        names = error.validator_value if isinstance(error.validator_value, list) else []
        return [f'config: field "{_join(path, name)}" is required' for name in names if name not in instance]
    subject = f'field "{path}"' if path else "the config"
    if error.validator == "type":
        wanted = error.validator_value
        kinds = wanted if isinstance(wanted, list) else [wanted]
        expected = " or ".join(_ARTICLES.get(str(kind), str(kind)) for kind in kinds)
        got = f"{_json_type(instance)} {_short(instance)}"
        hint = (
            " (quote it if you meant the text)"
            if "string" in kinds and not isinstance(instance, dict | list)
            else ""
        )
        return [f"config: {subject} must be {expected}, got {got}{hint}"]
    return [f"config: {subject}: {_clip(error.message)}"]


_ARTICLES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _field_path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "array" if isinstance(value, list) else "object"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, dict | list) else ""
    return _clip(text, 60) if text else ("{...}" if isinstance(value, dict) else "[...]")


def _clip(text: str, most: int = 200) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."
