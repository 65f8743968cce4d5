"""What a user asks for: one dashboard spec, validated field by field.

The Pulumi resource's inputs, a stack config entry and a `Dashboard` custom
resource's `spec` all say the same things (generator, config, folder, uid, drift
policy, limits), so they are read by one pure function that reports every bad
field with its path and the fix, instead of failing on the first one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import DawgError
from .grafana.canonical import canonical
from .grafana.ownership import valid_uid
from .grafana.planner import DriftPolicy
from .sources.reference import parse_reference
from .units import parse_duration, parse_size
from .wasm.limits import Limits


@dataclass(frozen=True)
class FieldError:
    """One bad field: where (`config`, `dashboards[2].generator`) and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class SpecError(DawgError):
    """A dashboard spec has bad fields; the message lists each one."""

    def __init__(self, where: str, errors: list[FieldError]) -> None:
        self.errors = errors
        lines = "\n".join(f"  - {error}" for error in errors)
        super().__init__(f"{where}: {len(errors)} invalid field{'s' * (len(errors) != 1)}:\n{lines}")


@dataclass(frozen=True)
class DashboardSpec:
    """A validated request for one dashboard."""

    generator: str
    config: bytes
    """The config text for the generator's stdin."""
    folder: str = ""
    uid: str | None = None
    adopt: bool = False
    drift: DriftPolicy = DriftPolicy.OVERWRITE
    message: str = ""
    limits: Limits = field(default_factory=Limits)


def config_text(config: Any) -> bytes:
    """The generator's stdin: text as written, or a mapping as JSON (a subset of YAML).

    Mappings that crossed Pulumi's wire have every number as a float; integral ones
    are turned back into integers (`3.0` -> `3`) so generators see what the user wrote.
    """
    if config is None:
        return b""
    if isinstance(config, str):
        return config.encode()
    return json.dumps(canonical({"": config})[""], sort_keys=True, ensure_ascii=False).encode()


def parse_folder(folder: str) -> tuple[str, list[str]]:
    """`uid:<uid>` -> (uid, []); `Team A/Services` -> ("", ["Team A", "Services"]); "" -> root."""
    text = folder.strip()
    if text.startswith("uid:"):
        return text[4:], []
    return "", [part.strip() for part in text.split("/") if part.strip()]


def parse_spec(raw: Mapping[str, Any], prefix: str = "") -> tuple[DashboardSpec | None, list[FieldError]]:
    """Validate every field of `raw`; a spec only when all are good. Pure."""
    errors: list[FieldError] = []

    def bad(name: str, reason: str) -> None:
        errors.append(FieldError(prefix + name, reason))

    generator = raw.get("generator")
    if not isinstance(generator, str) or not generator.strip():
        bad("generator", "required: a path, file://PATH or oci://registry/repo:tag reference")
        generator = ""
    elif any(ord(char) < 0x20 or ord(char) == 0x7F for char in generator):
        bad("generator", "contains a control character (NUL, newline, ESC ...); no path or reference does")
        generator = ""
    else:
        try:
            parse_reference(generator)
        except DawgError as error:
            bad("generator", str(error))
    config = raw.get("config")
    if config is not None and not isinstance(config, (str, dict)):
        bad("config", f"must be a mapping or YAML/JSON text, got {type(config).__name__}")
        config = None
    folder = raw.get("folder") or ""
    if not isinstance(folder, str):
        bad("folder", "must be a folder path like 'Team A/Services' or 'uid:<folder uid>'")
        folder = ""
    elif folder.strip().startswith("uid:") and not valid_uid(folder.strip()[4:]):
        bad("folder", f"{folder!r} is not a valid folder uid ([A-Za-z0-9_-], at most 40)")
    uid = raw.get("uid")
    if uid is not None and (not isinstance(uid, str) or not valid_uid(uid)):
        bad("uid", f"{uid!r} is not a Grafana uid: 1 to 40 of [A-Za-z0-9_-]")
        uid = None
    adopt = raw.get("adopt", False)
    if not isinstance(adopt, bool):
        bad("adopt", "must be true or false")
        adopt = False
    drift_text = raw.get("drift") or DriftPolicy.OVERWRITE.value
    drift = DriftPolicy.OVERWRITE
    try:
        drift = DriftPolicy(drift_text)
    except ValueError:
        bad("drift", f"must be 'overwrite' or 'fail', got {drift_text!r}")
    message = raw.get("message") or ""
    if not isinstance(message, str) or len(message) > 500:
        bad("message", "must be text of at most 500 characters (Grafana's limit)")
        message = ""
    limits = Limits()
    try:
        timeout, memory = raw.get("timeout"), raw.get("memory")
        limits = Limits(
            timeout=limits.timeout if timeout is None else parse_duration(timeout, "timeout"),
            memory=limits.memory if memory is None else parse_size(_int(memory), "memory"),
        )
    except DawgError as error:
        name = "memory" if "memory" in str(error) else "timeout"
        bad(name, str(error).split(": ", 1)[-1])
    if errors:
        return None, errors
    spec = DashboardSpec(
        generator=str(generator).strip(),
        config=config_text(config),
        folder=folder.strip(),
        uid=uid,
        adopt=adopt,
        drift=drift,
        message=message,
        limits=limits,
    )
    return spec, []


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value
