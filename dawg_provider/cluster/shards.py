"""Shards: slices of the cluster's Dashboard resources, one workload and owner tag each.

Shards must be disjoint: a CR that two shards both list is written by two owners,
which then flap `UidConflict` on it forever, and each may prune the other's work. The
layout the README once documented (`namespaces: [team-a]` beside
`selector: shard notin (team-a)`) overlapped: an unlabelled CR in team-a matches a
`notin` (Kubernetes: a missing label is "not in" any set), so it belonged to both.
`shard_problems` proves disjointness from the shards' declarations alone (pure, no
cluster needed) and names each pair it cannot prove apart; the install refuses them.

Two shards are disjoint when their namespaces are (both list namespaces and share
none, or one lists namespaces the other excludes), or when their selectors are: some
label key is required with disjoint value sets (`k=a` / `k in (a,b)` against
`k=c`), required against excluded (`k in (a)` against `k notin (a)`), or present
against absent (`k` / `k=a` against `!k`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True)
class Shard:
    """One workload: a slice of the cluster's Dashboard resources."""

    name: str = "all"
    namespaces: tuple[str, ...] = ()
    selector: str | None = None
    exclude_namespaces: tuple[str, ...] = ()


# key -> (operator, values): "in" (= and in), "notin" (!= and notin), "exists", "absent".
Terms = dict[str, tuple[str, frozenset[str]]]


def selector_terms(selector: str | None) -> Terms:
    """The requirements of a label selector by key (the last one per key wins)."""
    terms: Terms = {}
    for raw in re.split(r",(?![^(]*\))", selector or ""):
        term = raw.strip()
        if not term:
            continue
        if m := re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", term):
            terms[m.group(1)] = (m.group(2), frozenset(v.strip() for v in m.group(3).split(",")))
        elif m := re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", term):
            op = "notin" if m.group(2) == "!=" else "in"
            terms[m.group(1)] = (op, frozenset({m.group(3).strip()}))
        elif term.startswith("!"):
            terms[term[1:].strip()] = ("absent", frozenset())
        else:
            terms[term] = ("exists", frozenset())
    return terms


def _terms_disjoint(a: tuple[str, frozenset[str]], b: tuple[str, frozenset[str]]) -> bool:
    (op_a, values_a), (op_b, values_b) = a, b
    if op_a == "in" and op_b == "in":
        return not values_a & values_b
    if {op_a, op_b} == {"in", "notin"}:
        inside, outside = (values_a, values_b) if op_a == "in" else (values_b, values_a)
        return inside <= outside
    return "absent" in (op_a, op_b) and bool({op_a, op_b} & {"in", "exists"})


def _namespaces_disjoint(a: Shard, b: Shard) -> bool:
    if a.namespaces and b.namespaces:
        return not set(a.namespaces) & set(b.namespaces)
    if a.namespaces:
        return set(a.namespaces) <= set(b.exclude_namespaces)
    if b.namespaces:
        return set(b.namespaces) <= set(a.exclude_namespaces)
    return False


def disjoint(a: Shard, b: Shard) -> bool:
    """True when no Dashboard can belong to both shards, whatever its labels. Pure."""
    if _namespaces_disjoint(a, b):
        return True
    terms_a, terms_b = selector_terms(a.selector), selector_terms(b.selector)
    return any(_terms_disjoint(terms_a[key], terms_b[key]) for key in terms_a.keys() & terms_b.keys())


def shard_problems(shards: list[Shard]) -> list[str]:
    """Why these shards cannot be installed together (empty when they can). Pure."""
    problems = []
    names = [shard.name for shard in shards]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"shard name {name!r} is used twice (each shard needs its own owner tag)")
    for shard in shards:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", shard.name):
            problems.append(f"shard name {shard.name!r}: lower-case letters, digits and '-' (at most 40)")
    for a, b in combinations(shards, 2):
        if not disjoint(a, b):
            problems.append(
                f"shards {a.name!r} and {b.name!r} may both hold the same Dashboard (for example an "
                "unlabelled one in a namespace both cover): give them disjoint namespaces, "
                "exclude_namespaces, or selectors on one label key with disjoint values"
            )
    return problems
