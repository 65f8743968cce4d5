"""Checking a Dashboard object against the CRD's own OpenAPI schema, before anything else.

The API server validates CRs against `crd.crd_manifest()`'s `openAPIV3Schema`, but the
job cannot rely on that: manifests read from files never met an API server, a CRD
installed by hand may be older or edited, and every field a CR author writes is
untrusted input with the job's powers. So the job checks each object itself, with the
very schema `dawg crd` prints, and a CR that does not fit ends with a `ConfigInvalid`
condition naming each bad field instead of reaching code that expects other types.

Only the OpenAPI keywords the CRD uses are understood (type, required, properties,
items, enum, pattern, minLength, maxLength, minimum, maxItems, list-map keys,
x-kubernetes-preserve-unknown-fields);
`check_keywords` fails the tests if the CRD ever grows one this module ignores.
Fields the schema does not know are reported (the API server would prune them
silently; in a manifest they are usually a typo). Free-form values (`spec.config`) are
bounded in depth and size, so no later step recurses without bound. Pure.
"""

from __future__ import annotations

import re
from typing import Any

from .crd import API_VERSION, GROUP, KIND, DashboardResource, crd_manifest

MAX_DEPTH = 32
"""Nesting allowed inside free-form fields (`spec.config`)."""
MAX_NODES = 100_000
"""Values (scalars, list items, mapping entries) allowed inside one free-form field."""
UNDERSTOOD = frozenset(
    {
        "type",
        "required",
        "properties",
        "items",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "format",
        "description",
        "minimum",
        "maxItems",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-validations",
    }
)
"""`x-kubernetes-validations` holds CEL transition rules (`oldSelf`): they compare an update
with the object before it, which only the API server has; the job does not evaluate them."""
# metadata.name of a namespaced custom resource: a DNS subdomain (RFC 1123), as
# k8s.io/apimachinery/pkg/util/validation IsDNS1123Subdomain checks it.
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# metadata.namespace: a DNS label (IsDNS1123Label), at most 63 characters.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def go_pattern(pattern: str) -> str:
    """A CRD `pattern` for Python's `re` with the API server's meaning (Go RE2, no flags):
    `$` is the end of the text, never "before a final newline" as in Python."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def crd_schema() -> dict[str, Any]:
    """The `openAPIV3Schema` of the served version, as `dawg crd` prints it."""
    version = crd_manifest()["spec"]["versions"][0]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def check_keywords(schema: dict[str, Any], path: str = "") -> list[str]:
    """Keywords in `schema` this validator does not understand (should be none)."""
    unknown = [f"{path or '.'}: {key}" for key in schema if key not in UNDERSTOOD]
    for name, sub in (schema.get("properties") or {}).items():
        unknown += check_keywords(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        unknown += check_keywords(schema["items"], f"{path}[]")
    return unknown


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    for name, types in _TYPES.items():
        if isinstance(value, types) and not (isinstance(value, bool) and name != "boolean"):
            return name
    return type(value).__name__


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, _TYPES.get(kind, ()))


def _free_form_problem(value: Any) -> str | None:
    """Why a free-form value is too deep or too big, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            return f"has more than {MAX_NODES} values"
        if depth > MAX_DEPTH:
            return f"is nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            stack += [(child, depth + 1) for child in item.values()]
            if not all(isinstance(key, str) for key in item):
                return "has a mapping key that is not text"
        elif isinstance(item, list):
            stack += [(child, depth + 1) for child in item]
        elif not (item is None or isinstance(item, (str, int, float, bool))):
            return f"holds a {type(item).__name__}, which is not JSON"
    return None


def _validate(schema: dict[str, Any], value: Any, path: str, errors: list[str]) -> None:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        problem = _free_form_problem(value)
        if problem:
            errors.append(f"{path}: {problem}")
        return
    kind = schema.get("type")
    if kind and not _is(value, kind):
        errors.append(
            f"{path}: must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}, got {_type_name(value)}"
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        errors.append(f"{path}: must be one of {allowed}, got {_short(value)}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: must have at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: must have at most {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(go_pattern(schema["pattern"]), value):
            errors.append(f"{path}: {_short(value)} does not match {schema['pattern']}")
    if isinstance(value, dict):
        properties: dict[str, Any] = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                errors.append(f"{path}.{name}: required")
        for name, item in value.items():
            if name in properties:
                _validate(properties[name], item, f"{path}.{name}", errors)
            else:
                shown = name if re.fullmatch(r"[A-Za-z0-9_-]{1,60}", str(name)) else _short(name)
                errors.append(f"{path}.{shown}: unknown field (not in the Dashboard CRD)")
    if isinstance(value, int) and "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: must be at least {schema['minimum']}")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: must have at most {schema['maxItems']} items")
        keys = schema.get("x-kubernetes-list-map-keys") or []
        if schema.get("x-kubernetes-list-type") == "map" and keys:
            seen = [tuple(item.get(k) for k in keys) for item in value if isinstance(item, dict)]
            for duplicate in sorted({key for key in seen if seen.count(key) > 1}, key=repr):
                errors.append(
                    f"{path}: duplicate entries for {_short(dict(zip(keys, duplicate, strict=True)))}"
                )
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _validate(schema["items"], item, f"{path}[{index}]", errors)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _metadata_errors(metadata: Any) -> list[str]:
    if not isinstance(metadata, dict):
        return [f"metadata: must be an object, got {_type_name(metadata)}"]
    errors = []
    name = metadata.get("name")
    if not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        errors.append(f"metadata.name: {_short(name)} is not a DNS subdomain (RFC 1123, at most 253)")
    namespace = metadata.get("namespace", "default")
    if not isinstance(namespace, str) or len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace):
        errors.append(f"metadata.namespace: {_short(namespace)} is not a DNS label (RFC 1123, at most 63)")
    for key, kind in (("uid", "string"), ("resourceVersion", "string"), ("generation", "integer")):
        if key in metadata and not _is(metadata[key], kind):
            errors.append(f"metadata.{key}: must be a {kind}, got {_type_name(metadata[key])}")
    labels = metadata.get("labels")
    if labels is not None and (
        not isinstance(labels, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    ):
        errors.append("metadata.labels: must map text to text")
    return errors


def validate_object(obj: Any) -> list[str]:
    """Every problem of one Dashboard object (envelope, metadata, spec, status), by path. Pure."""
    if not isinstance(obj, dict):
        return [f"the document is a {_type_name(obj)}, not a Kubernetes object"]
    errors = []
    if obj.get("apiVersion") != API_VERSION:
        errors.append(f"apiVersion: must be {API_VERSION!r}, got {_short(obj.get('apiVersion'))}")
    if obj.get("kind") != KIND:
        errors.append(f"kind: must be {KIND!r}, got {_short(obj.get('kind'))}")
    errors += _metadata_errors(obj.get("metadata"))
    body = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind", "metadata")}
    _validate(crd_schema(), body, "", errors)
    return [error.lstrip(".") for error in errors]


def is_dashboard_group(api_version: Any) -> bool:
    """True for any version of DAWG's API group (a wrong version is an error, not another kind)."""
    return isinstance(api_version, str) and api_version.split("/", 1)[0] == GROUP


def load_resource(obj: Any) -> DashboardResource:
    """A Dashboard resource from any decoded object, with its schema problems attached.

    A status that does not fit the schema (it is written by the job, but anyone allowed
    to patch `dashboards/status` can change it) is ignored rather than trusted: the CR
    is then synced as if seen for the first time.
    """
    problems = validate_object(obj)
    spec_problems = tuple(p for p in problems if not p.startswith("status"))
    if isinstance(obj, dict) and len(spec_problems) < len(problems):
        obj = {key: value for key, value in obj.items() if key != "status"}
    return DashboardResource.from_object(obj, spec_problems)
