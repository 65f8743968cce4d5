"""A config as data, the way a generator reads it, bounded before a schema checks it.

Only configs of generators that declare a schema are parsed by DAWG (the others go to
the sandbox as bytes). Parsing and checking happen in DAWG's own process, and the
config comes from any tenant with a Dashboard resource, so it is bounded first:
MAX_CONFIG_BYTES of text, then MAX_CONFIG_NODES values at most MAX_CONFIG_DEPTH deep,
and no YAML aliases (a "billion laughs" costs no memory when loaded, but a check
would visit every path through the sharing).

YAML 1.2 with its core schema (JSON is a subset), as generators read it: Go's yaml.v3
and JavaScript's `yaml` are YAML 1.2, and DAWG's flat `key: value` readers (the Zig
and C templates, generators/deployment/config.go) take words as written. PyYAML
alone speaks YAML 1.1, where `on`, `no`, `y` are booleans (also as keys), `1_000`
and `0x1F` integers, `2024-01-01` a date and `<<` a merge key; here only
`true`/`false` (any case form the core schema lists) are booleans, numbers follow
the 1.2 core regexes, and everything else is text. Mapping keys must be text.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import yaml

MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_NODES = 20_000
MAX_CONFIG_DEPTH = 32


# libyaml's loader when PyYAML has it (5x faster on a typical config), else the pure one.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# The YAML 1.2 core schema's tag resolution (https://yaml.org/spec/1.2.2/#1023-core-schema).
_CORE_12 = (
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+.0123456789",
    ),
)


class _ConfigLoader(_Base):  # type: ignore[misc]
    """YAML 1.2 core schema: PyYAML's null resolution kept, its 1.1 bool/int/float/date/merge dropped."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regex) for tag, regex in resolvers if tag == "tag:yaml.org,2002:null"]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


for _tag, _regex, _first in _CORE_12:
    _ConfigLoader.add_implicit_resolver(_tag, re.compile(f"^(?:{_regex})$"), list(_first))


def _as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]  # timestamps are scalars


def _core_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text)  # 010 is ten in YAML 1.2, not eight


_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
_ConfigLoader.add_constructor("tag:yaml.org,2002:int", _core_int)


def parse_config(config: bytes) -> Any:
    """The config as data, the way a YAML-reading generator sees it; `{}` when empty."""
    if len(config) > MAX_CONFIG_BYTES:
        raise ValueError(
            f"is {len(config)} bytes, over the limit of {MAX_CONFIG_BYTES} "
            "for a config checked against a schema"
        )
    try:
        value = yaml.load(config.decode("utf-8"), Loader=_ConfigLoader)
    except UnicodeDecodeError as error:
        raise ValueError(f"is not UTF-8 text (byte {error.start})") from None
    except yaml.YAMLError as error:
        text = " ".join(str(error).split()).replace(' in "<unicode string>",', ",")
        raise ValueError(f"is not valid YAML or JSON: {text[:300]}") from None
    except RecursionError:
        raise ValueError("nests too deeply") from None
    _bound(value)
    return {} if value is None else value


def _bound(value: Any) -> None:
    """Refuse a container that appears twice (a YAML alias, `*name`), too many values, or too deep.

    Level by level, each container visited once: no recursion, and no more than
    MAX_CONFIG_NODES values looked at.
    """
    seen: set[int] = set()
    level: list[Any] = [value]
    paths: list[str] = [""]
    nodes = depth = 0
    while level:
        depth += 1
        nodes += len(level)
        if nodes > MAX_CONFIG_NODES:
            raise ValueError(
                f"holds more than {MAX_CONFIG_NODES} values, over the limit for a checked config"
            )
        if depth > MAX_CONFIG_DEPTH:
            raise ValueError(f"nests more than {MAX_CONFIG_DEPTH} levels deep")
        below: list[Any] = []
        below_paths: list[str] = []
        for item, path in zip(level, paths, strict=True):
            if type(item) not in (dict, list):
                continue
            if id(item) in seen:
                raise ValueError(
                    "is not valid YAML or JSON: YAML aliases (*name) are not supported in configs"
                )
            seen.add(id(item))
            if type(item) is list:
                below.extend(item)
                below_paths.extend(f"{path}[{index}]" for index in range(len(item)))
                continue
            for key, child in item.items():
                if type(key) is not str:
                    where = f'field "{path}"' if path else "the top"
                    written = json.dumps(key, default=str)
                    raise ValueError(
                        f'has a key that is not text in {where}: {written} (quote it: "{written}")'
                    )
                below.append(child)
                below_paths.append(f"{path}.{key}" if path else key)
        level, paths = below, below_paths
