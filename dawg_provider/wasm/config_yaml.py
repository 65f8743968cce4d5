"""A config as data, the way a generator reads it, bounded before a schema checks it.

Only configs of generators that declare a schema are parsed by DAWG (the others go to
the sandbox as bytes). Parsing and checking happen in DAWG's own process, and the
config comes from any tenant with a Dashboard resource, so it is bounded first:
MAX_CONFIG_BYTES of text, then MAX_CONFIG_NODES values at most MAX_CONFIG_DEPTH deep,
and no YAML aliases (a "billion laughs" costs no memory when loaded, but a check
would visit every path through the sharing).

YAML (JSON is a subset), with dates kept as the text written, as most generators' own
parsers keep them.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_CONFIG_BYTES = 256 * 1024
MAX_CONFIG_NODES = 20_000
MAX_CONFIG_DEPTH = 32


# libyaml's loader when PyYAML has it (5x faster on a typical config), else the pure one.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ConfigLoader(_Base):  # type: ignore[misc]
    """YAML with dates kept as the text written (as most generators' own parsers keep them)."""


def _as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]  # timestamps are scalars


_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)


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
    level = [value]
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
        for item in level:
            if type(item) not in (dict, list):
                continue
            if id(item) in seen:
                raise ValueError(
                    "is not valid YAML or JSON: YAML aliases (*name) are not supported in configs"
                )
            seen.add(id(item))
            below.extend(item.values() if type(item) is dict else item)
        level = below
