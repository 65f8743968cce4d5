"""The CRD's CEL rules (`x-kubernetes-validations`) evaluated as kube-apiserver does, for
the Kubernetes stand-in. A CEL engine (cel-python) does the evaluating; what this module
adds is where and when, read from apiextensions-apiserver/pkg/apiserver/schema/cel/
validation.go:

- `validate` walks the schema with the object and its old value side by side: rules at a
  node see `self` (the new value) and `oldSelf` (the old one); properties recurse with
  `oldObj[k]` (`validateMap`, objects are always correlatable); list items are not
  followed (the CRD has no rule under a list).
- A null or absent value is not validated (`validateExpressions`: "We only validate
  non-null values").
- A rule that uses `oldSelf` is a transition rule: skipped when there is no old value
  (create, or a node that did not exist before; `compiled.UsesOldSelf && oldObj == nil`
  -> continue, `optionalOldSelf` unset). The real compiler finds `oldSelf` in the AST;
  here the rule text is searched for the identifier.
- A false rule is `field.Invalid(path, <value omitted for objects>, message)`, shown by
  apimachinery/pkg/util/validation/field/errors.go `ErrorBody` as
  `<path>: Invalid value: <message>`; the message defaults to `failed rule: <rule>`
  (`ruleMessageOrDefault`). A rule that fails to evaluate is
  `<path>: Invalid value: "object": <error> evaluating rule: <rule>`.
"""

from __future__ import annotations

import re
from typing import Any

import celpy
from celpy.adapter import json_to_cel

_OLD_SELF = re.compile(r"\boldSelf\b")
_ENV = celpy.Environment()


def is_transition_rule(rule: str) -> bool:
    """Docs (Transition rules): "A rule that contains an expression referencing the
    identifier oldSelf is implicitly considered a transition rule"."""
    return bool(_OLD_SELF.search(rule))


def evaluate(rule: str, value: Any, old: Any) -> Any:
    """The rule's result for `self` = value (and `oldSelf` = old, when given)."""
    program = _ENV.program(_ENV.compile(rule))
    activation = {"self": json_to_cel(value)}
    if old is not None:
        activation["oldSelf"] = json_to_cel(old)
    return program.evaluate(activation)


def validate(schema: dict[str, Any], value: Any, old: Any, path: str) -> list[str]:
    """Every rule of `schema` (and of its properties) that `value` breaks, as field errors."""
    if value is None:
        return []
    errors: list[str] = []
    for entry in schema.get("x-kubernetes-validations") or []:
        rule = entry["rule"]
        if is_transition_rule(rule) and old is None:
            continue
        try:
            result = evaluate(rule, value, old)
        except Exception as error:  # celpy raises its own error types for runtime failures
            errors.append(f'{path}: Invalid value: "object": {error} evaluating rule: {rule}')
            continue
        if result is not True and result != celpy.celtypes.BoolType(True):
            message = (entry.get("message") or "").strip() or f"failed rule: {rule}"
            errors.append(f"{path}: Invalid value: {message}")
    if isinstance(value, dict):
        for name, child in (schema.get("properties") or {}).items():
            old_child = old.get(name) if isinstance(old, dict) else None
            errors += validate(child, value.get(name), old_child, f"{path}.{name}")
    return errors
