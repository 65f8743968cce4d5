"""From a dashboard spec to the dashboard DAWG would write: fetch, run, mark.

The shared first half of every adapter (Pulumi check/create/update, the sync job,
`dawg sync --dry-run`): the generator named by the spec is fetched and verified, run
in the sandbox on the spec's config, and its output is given the resource's uid and
DAWG's ownership tags. The exact output is kept (parsed from the generator's own
bytes), never a copy that went through Pulumi's wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InvalidDashboard
from .grafana import ownership, v2
from .grafana.canonical import content_hash
from .grafana.modelcheck import Severity, check_dashboard
from .grafana.modelcheck_v2 import check_spec
from .sources.fetch import Fetched, Fetcher
from .sources.reference import OciRef
from .spec import DashboardSpec
from .wasm.runtime import RenderedDashboard, Runtime, default_runtime


@dataclass(frozen=True)
class Rendering:
    """A generated dashboard ready for Grafana, and where it came from."""

    dashboard: dict[str, Any]
    """The generator's output with `uid` and DAWG's tags; what is POSTed."""
    dashboard_hash: str
    generator_digest: str
    generator_ref: str
    """The reference pinned to what it resolved to (`oci://...:tag@sha256:...`)."""
    warnings: tuple[str, ...]
    output: RenderedDashboard


def prepare(dashboard: dict[str, Any], uid: str, owner: str) -> dict[str, Any]:
    """The generator's dashboard with the resource's uid and DAWG's ownership tags."""
    marked = ownership.mark(dashboard, owner)
    marked = {key: value for key, value in marked.items() if key not in ("id", "version")}
    marked["uid"] = uid
    return marked


MAX_MODEL_WARNINGS = 20
MAX_FINDING_CHARS = 300
"""A generator controls how many findings it has (one per panel) and their text (a
panel type of a megabyte): every adapter prints, logs or stores these (Pulumi state,
a CR's status), so both are capped."""


def _cut(text: str) -> str:
    return text if len(text) <= MAX_FINDING_CHARS else text[: MAX_FINDING_CHARS - 3] + "..."


def check_model(generator: str, dashboard: dict[str, Any]) -> tuple[str, ...]:
    """Warnings on the dashboard's model; `InvalidDashboard` for what Grafana could not load.

    The policy (which findings are errors) is grafana/modelcheck.py's, documented in
    docs/generator-contract.md; every adapter applies it through here.
    """
    notes: list[str] = []
    version = v2.version_of(dashboard)
    if version is not None:  # schema v2, carried as its spec (grafana/v2.py)
        unknown = sorted(set(dashboard) - v2.SPEC_FIELDS - {v2.MARK, "uid", "id", "version"})
        if unknown:
            named = ", ".join(f"spec.{key}" for key in unknown[:5])
            notes.append(
                f"generator {generator}: dashboard {_cut(named)}: not a field of Grafana's v2 "
                "DashboardSpec; Grafana does not store it"
            )
        spec = {key: value for key, value in dashboard.items() if key != v2.MARK}
        findings = check_spec(spec, version)
    else:
        findings = check_dashboard(dashboard)
    errors = [_cut(str(finding)) for finding in findings if finding.severity is Severity.ERROR]
    if errors:
        raise InvalidDashboard(
            generator,
            "the dashboard is not one Grafana can load: " + "; ".join(errors[:10]),
            "see 'Output validation' in docs/generator-contract.md",
        )
    shown = notes + [
        f"generator {generator}: dashboard {_cut(str(finding))}" for finding in findings[:MAX_MODEL_WARNINGS]
    ]
    if len(findings) > MAX_MODEL_WARNINGS:
        shown.append(
            f"generator {generator}: dashboard: ... and {len(findings) - MAX_MODEL_WARNINGS} more "
            "warnings like these (check the whole file with `dawg validate`)"
        )
    return tuple(shown)


class Renderer:
    """Fetches and runs generators; one per process, shared by threads."""

    def __init__(self, runtime: Runtime | None = None, fetcher: Fetcher | None = None) -> None:
        self.runtime = runtime or default_runtime()
        self.fetcher = fetcher or Fetcher()

    def render(self, spec: DashboardSpec, uid: str, owner: str, known_digest: str | None = None) -> Rendering:
        return self.render_fetched(self.fetcher.fetch(spec.generator, known_digest), spec, uid, owner)

    def render_fetched(self, fetched: Fetched, spec: DashboardSpec, uid: str, owner: str) -> Rendering:
        """Run an already fetched generator (the sync job resolves each reference once per pass)."""
        output = self.runtime.run(fetched.artifact, spec.config, spec.limits)
        model_warnings = check_model(fetched.artifact.label, output.dashboard)
        dashboard = prepare(output.dashboard, uid, owner)
        pinned = fetched.ref.canonical if isinstance(fetched.ref, OciRef) else str(fetched.ref)
        return Rendering(
            dashboard=dashboard,
            dashboard_hash=content_hash(dashboard),
            generator_digest=fetched.artifact.digest,
            generator_ref=pinned,
            warnings=fetched.warnings + output.warnings + model_warnings,
            output=output,
        )
