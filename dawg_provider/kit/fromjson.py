"""`dawg new json`: from a hand-made dashboard JSON to a generator, so a team starts from what it has.

Give the dashboard (as exported from Grafana: the model itself, or the
`{"dashboard": ...}` export envelope) and a few variables as `NAME=VALUE`, where VALUE
is text the dashboard contains today (a job, a namespace, a title). Every occurrence
of each value in the dashboard's strings becomes a placeholder `%{NAME}`, and the
project is a Go generator that embeds that dashboard and puts the config's values
back in (JSON-escaped, in one pass). The values it was made from are the defaults
and the example config, and its golden test holds the original dashboard: it proves
the round trip. `uid`, `id` and `version` are dropped (they belong to whoever deploys).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import DawgError
from .golden import golden_text
from .new import FACTS, NAME, TemplateLanguage, requirements, write_project

VARIABLE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_DASHBOARD = 4 * 1024 * 1024


def parse_variables(pairs: list[str]) -> dict[str, str]:
    """`["job=shop/api", ...]` -> `{"job": "shop/api"}`, with a clear error per bad pair. Pure."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not VARIABLE.fullmatch(name):
            raise DawgError(f"--var {pair!r}: give NAME=VALUE, NAME in lower case ([a-z][a-z0-9_]*)")
        if len(value) < 2:
            raise DawgError(f"--var {pair!r}: the value must be at least 2 characters of the dashboard")
        if name in found:
            raise DawgError(f"--var {name} is given twice")
        found[name] = value
    if not found:
        raise DawgError("give at least one --var NAME=VALUE: a value the dashboard contains")
    return found


def load_dashboard(path: Path) -> dict[str, Any]:
    """The dashboard model in `path`, unwrapped from an export envelope, without uid/id/version."""
    try:
        if path.stat().st_size > MAX_DASHBOARD:
            raise DawgError(f"{path}: over {MAX_DASHBOARD} bytes; that is not a dashboard")
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DawgError(f"{path}: cannot read it: {error.strerror}") from None
    except (ValueError, RecursionError) as error:
        raise DawgError(f"{path}: not JSON: {str(error)[:200]}") from None
    if isinstance(value, dict) and isinstance(value.get("dashboard"), dict):
        value = value["dashboard"]
    if not isinstance(value, dict) or not isinstance(value.get("title"), str):
        raise DawgError(f"{path}: not a dashboard (a JSON object with a title)")
    return {key: item for key, item in value.items() if key not in ("uid", "id", "version")}


def parameterize(dashboard: dict[str, Any], variables: dict[str, str]) -> tuple[Any, dict[str, int]]:
    """The dashboard with each value replaced by `%{name}` in every string; and the counts. Pure.

    One pass over each string with every value at once, longest first: a value inside
    another (`shop` in `shop/api`) does not split it, and no value is ever replaced
    inside a placeholder put there for another (`s` in `%{namespace}`).
    """
    counts = dict.fromkeys(variables, 0)
    by_value: dict[str, str] = {}
    for name in sorted(variables, key=lambda name: -len(variables[name])):
        by_value.setdefault(variables[name], name)
    pattern = re.compile("|".join(re.escape(value) for value in by_value))

    def placeholder(match: re.Match[str]) -> str:
        name = by_value[match.group()]
        counts[name] += 1
        return "%{" + name + "}"

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(placeholder, value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    return walk(dashboard), counts


def plan(
    name: str, dashboard: dict[str, Any], variables: dict[str, str]
) -> tuple[dict[str, str], dict[str, int]]:
    """`{relative path: text}` of the project, and how often each variable was found."""
    if not NAME.fullmatch(name):
        raise DawgError(
            f"{name!r} is not a generator name: lower-case letters, digits and '-', from a letter"
        )
    template, counts = parameterize(dashboard, variables)
    missing = [f"{key}={variables[key]!r}" for key, count in counts.items() if count == 0]
    if missing:
        raise DawgError(f"the dashboard does not contain {', '.join(missing)}; nothing to make a variable of")
    placeholders = json.dumps(template, indent=2, sort_keys=True, ensure_ascii=False)
    if "%{" in json.dumps(dashboard):
        raise DawgError("the dashboard already contains '%{'; it would be taken for a placeholder")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": name,
        "description": f"Made by `dawg new json` from the dashboard {dashboard['title']!r}.",
        "type": "object",
        "properties": {
            key: {"type": "string", "minLength": 1, "default": value, "description": f"replaces {value!r}"}
            for key, value in sorted(variables.items())
        },
        "additionalProperties": False,
        "examples": [dict(sorted(variables.items()))],
    }
    example = "".join(f"{key}: {json.dumps(value)}\n" for key, value in sorted(variables.items()))
    templates = resources.files(__package__ or "dawg_provider.kit") / "templates" / "json"
    project = {
        entry.name: entry.read_text(encoding="utf-8")
        .replace("{{name}}", name)
        .replace("{{version}}", FACTS[TemplateLanguage.GO].version)
        for entry in templates.iterdir()
    }
    project.update(
        {
            "requirements-build.txt": requirements(FACTS[TemplateLanguage.GO].pin),
            "dashboard.json": placeholders + "\n",
            "variables.json": json.dumps(dict(sorted(variables.items())), indent=2) + "\n",
            "schema.json": json.dumps(schema, indent=2) + "\n",
            "example.yaml": example,
            "tests/example.yaml": example,
            "tests/example.golden.json": golden_text(dashboard),
            "README.md": (
                f"# {name}\n\nA DAWG generator made with `dawg new json` from the dashboard "
                f"{dashboard['title']!r}. Its variables: "
                + ", ".join(f"`{key}` (was {value!r})" for key, value in sorted(variables.items()))
                + ".\n\n`bash build.sh`, then `dawg test dist/"
                + name
                + ".wasm tests` renders the "
                "example config and compares it with the original dashboard. Edit `dashboard.json` "
                "(placeholders are `%{name}`) to change the panels.\n"
            ),
        }
    )
    return project, counts


def create(
    directory: Path, name: str, dashboard_file: Path, pairs: list[str]
) -> tuple[list[Path], dict[str, int]]:
    """Write the project into `directory` (which must not exist or be empty)."""
    project, counts = plan(name, load_dashboard(dashboard_file), parse_variables(pairs))
    return write_project(directory, project), counts
