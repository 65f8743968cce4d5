"""Label selectors for the Kubernetes stand-in: parsed strictly, so a bad one is a 400.

Modelled on k8s.io/apimachinery/pkg/labels/selector.go (`Parse`, its `Lexer` and
`Parser.parseRequirement`): terms separated by commas outside parentheses; operators
`=`, `==`, `!=`, `in`, `notin`, existence (`key`) and non-existence (`!key`). Keys are
qualified names and values label values, as k8s.io/apimachinery/pkg/util/validation
`IsQualifiedName` / `IsValidLabelValue` check them (63 characters, alphanumeric at both
ends, `-_.` inside; a key may carry a DNS-subdomain prefix and a `/`). A selector that
does not parse is answered with 400 BadRequest by the list handler
(staging/src/k8s.io/apiserver/pkg/endpoints/handlers/get.go `ListResource`, where the
query parameters fail to convert), message starting "unable to parse requirement".
The `gt`/`lt` operators Parse also accepts are not modelled: the stand-in refuses them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_KEY = re.compile(rf"^({_PREFIX}/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")

Requirement = Callable[[dict[str, str]], bool]


class SelectorError(ValueError):
    """The selector does not parse; the message is the API server's."""


def _key(text: str) -> str:
    key = text.strip()
    prefix = key.split("/", 1)[0] if "/" in key else ""
    if not _KEY.match(key) or len(prefix) > 253:
        raise SelectorError(f"unable to parse requirement: invalid label key {key!r}")
    return key


def _value(text: str) -> str:
    value = text.strip()
    if not _VALUE.match(value):
        raise SelectorError(f"unable to parse requirement: invalid label value: {value!r}")
    return value


def _term(term: str) -> Requirement:
    if m := re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", term):
        key, op = _key(m.group(1)), m.group(2)
        values = {_value(v) for v in m.group(3).split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := re.fullmatch(r"([^=!]+)(==|=|!=)([^=!]*)", term):
        key, op, value = _key(m.group(1)), m.group(2), _value(m.group(3))
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        key = _key(term[1:])
        return lambda labels: key not in labels
    if re.search(r"[=!()<>\s]", term):
        raise SelectorError(
            f"unable to parse requirement: found {term!r}, expected: in, notin, =, ==, !=, gt, lt"
        )
    key = _key(term)
    return lambda labels: key in labels


def parse(selector: str) -> list[Requirement]:
    """The requirements of `selector`, all of which must hold; raises SelectorError."""
    requirements = []
    for raw in re.split(r",(?![^(]*\))", selector):
        term = raw.strip()
        if not term:
            if selector.strip():
                raise SelectorError("unable to parse requirement: found ',', expected: identifier")
            continue
        requirements.append(_term(term))
    return requirements


def matches(labels: dict[str, str], selector: str) -> bool:
    """Kubernetes label selector semantics; raises SelectorError for a bad selector."""
    return all(requirement(labels) for requirement in parse(selector))
