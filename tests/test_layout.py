"""The package layout is the architecture: these tests keep it from decaying.

Parts (`sources`, `wasm`, `grafana`) sit below `spec`/`render`, which sit below the
adapters (`pulumi`, `cluster`, `cli`). Imports point down only, nothing imports in a
circle, pulumi and kubernetes stay inside their adapters, and no module grows past
what one concept needs. The graph is read from the source with `ast` (every import,
also those inside functions), so a lazy import cannot hide a wrong edge.
"""

from __future__ import annotations

import ast
import base64
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dawg_provider"
MAX_LINES = 450

# What each group may import (besides itself). A group is a subpackage, or a top-level module.
BASE = {"errors", "units", "observe"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "units": {"errors"},
    "observe": set(),
    "sources": BASE,
    "wasm": BASE | {"sources"},
    "grafana": BASE,
    "spec": BASE | {"sources", "wasm", "grafana"},
    "render": BASE | {"sources", "wasm", "grafana", "spec"},
    "pulumi": BASE | {"sources", "wasm", "grafana", "spec", "render"},
    "cluster": BASE | {"sources", "wasm", "grafana", "spec", "render"},
    # The generator author's kit (publish, docs, new, test): parts only, used by the CLI.
    "kit": BASE | {"sources", "wasm", "grafana", "spec", "render"},
    # `dawg preview-summary` lives with the Pulumi adapter (pulumi/summary.py, no SDK import).
    "cli": BASE | {"sources", "wasm", "grafana", "spec", "render", "cluster", "pulumi", "kit"},
    # The public face re-exports the parts and reaches the Pulumi resource lazily.
    "__init__": BASE | {"sources", "wasm", "grafana", "pulumi"},
    "__main__": {"cli"},
    # The provider's stable pickle path (see the module): a re-export only.
    "pulumi_provider": {"pulumi"},
}
# Third-party packages only adapters may import (module prefixes): the core runs without them.
# `cluster.install` is the Pulumi component that installs the job. `cluster.kube` holds the
# controller's Kubernetes calls beside the listing in `cluster.sources` (watches, Leases,
# Events): the controller and the elector stay testable without the client.
# `cluster.metrics` is the controller's only prometheus_client user.
CONFINED = {
    "pulumi": ("pulumi", "cluster.install"),
    "pulumi_kubernetes": ("cluster.install",),
    "kubernetes": ("cluster.sources", "cluster.kube"),
    "prometheus_client": ("cluster.metrics",),
    "dill": ("pulumi",),
    "grpc": ("pulumi",),
}

# `__provider` as states written before the subpackages hold it (built by
# tests.pulumi_engine.serialized_provider at commit a0f45d5).
PROVIDER_BLOB_BEFORE_THE_MOVE = (
    "gASVPgAAAAAAAACMHWRhd2dfcHJvdmlkZXIucHVsdW1pX3Byb3ZpZGVylIwVV2FzbURhc2hib2FyZFByb3ZpZGVylJOUKYGULg=="
)


def _modules() -> dict[str, Path]:
    """Dotted name (below dawg_provider) -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """(DAWG modules, top-level third-party packages) that a module imports, anywhere in it."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    if name == "__init__":
        package = []
    ours: set[str] = set()
    others: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and _dynamic_import(node):
            target = node.args[0].value  # type: ignore[attr-defined]
            if target.startswith("dawg_provider"):
                ours.add(target.removeprefix("dawg_provider").lstrip(".") or "__init__")
            else:
                others.add(target.split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dawg_provider"):
                    ours.add(alias.name.removeprefix("dawg_provider").lstrip(".") or "__init__")
                else:
                    others.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                module = node.module or ""
                if module.startswith("dawg_provider"):
                    base = module.removeprefix("dawg_provider").lstrip(".")
                    ours.update(f"{base}.{a.name}".strip(".") for a in node.names)
                else:
                    others.add(module.split(".")[0])
                continue
            anchor = package[: len(package) - (node.level - 1)]
            base = ".".join([*anchor, *(node.module.split(".") if node.module else [])])
            ours.update(f"{base}.{a.name}".strip(".") for a in node.names)
    known = _modules()
    resolved = set()
    for dotted in ours:
        # `from .grafana import ownership` names a module; `from .grafana import GrafanaClient` a package.
        target = dotted
        while target and target not in known:
            target = target.rpartition(".")[0]
        # What is left of `from dawg_provider import X` / `from .. import X` is the public face.
        resolved.add(target or "__init__")
    return resolved - {name}, others


def _dynamic_import(node: ast.Call) -> bool:
    """`importlib.import_module("...")`, `import_module("...")` or `__import__("...")` with a literal."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return (
        name in ("import_module", "__import__")
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def _group(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


def test_every_import_points_down() -> None:
    wrong = []
    for name, path in _modules().items():
        group = _group(name)
        assert group in ALLOWED, f"dawg_provider/{name}: new top-level module or package; add it to ALLOWED"
        for target in _imports(name, path)[0]:
            if _group(target) != group and _group(target) not in ALLOWED[group]:
                wrong.append(f"{name} -> {target}")
    assert not wrong, "imports against the layout (see ALLOWED): " + ", ".join(sorted(wrong))


def test_nothing_imports_in_a_circle() -> None:
    graph = {name: _imports(name, path)[0] for name, path in _modules().items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_pulumi_and_kubernetes_stay_in_their_adapters() -> None:
    wrong = []
    for name, path in _modules().items():
        for package in _imports(name, path)[1]:
            allowed = CONFINED.get(package)
            if allowed is not None and not any(name == a or name.startswith(a + ".") for a in allowed):
                wrong.append(f"{name} imports {package}")
    assert not wrong, wrong


def test_no_module_outgrows_one_concept() -> None:
    long = {
        name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split by concern (over {MAX_LINES} lines): {long}"


def test_each_subpackage_says_what_lives_there_and_what_it_may_import() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "May import" in doc, f"{init}: the docstring must say what the package may import"


def _copy_of_the_package(tmp_path: Path) -> Path:
    fake = tmp_path / "dawg_provider"
    for path in PACKAGE.rglob("*.py"):
        target = fake / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    return fake


def test_the_layout_checks_catch_a_wrong_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks themselves can fail: a part importing an adapter is reported."""
    fake = _copy_of_the_package(tmp_path)
    (fake / "grafana" / "planner.py").write_text(
        (fake / "grafana" / "planner.py").read_text() + "\nfrom ..cluster import sync  # noqa\n"
    )
    (fake / "grafana" / "canonical.py").write_text(
        (fake / "grafana" / "canonical.py").read_text()
        + "\nfrom dawg_provider import WasmDashboard  # noqa\n"
        + "importlib.import_module('dawg_provider.cli')  # noqa\n"
    )
    (fake / "grafana" / "models.py").write_text(
        (fake / "grafana" / "models.py").read_text() + "\nfrom . import GrafanaClient  # noqa\n"
    )
    (fake / "wasm" / "output.py").write_text(
        (fake / "wasm" / "output.py").read_text() + "\nimport importlib\nimportlib.import_module('pulumi')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError) as wrong:
        test_every_import_points_down()
    for edge in (
        "grafana.planner -> cluster.sync",
        "grafana.canonical -> __init__",
        "grafana.canonical -> cli",
    ):
        assert edge in str(wrong.value)
    with pytest.raises(AssertionError, match="import circle"):
        test_nothing_imports_in_a_circle()
    with pytest.raises(AssertionError, match=r"wasm\.output imports pulumi"):
        test_pulumi_and_kubernetes_stay_in_their_adapters()


def test_a_package_importing_its_own_face_is_a_circle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """grafana/__init__ imports models; models importing the package back is a real circle."""
    fake = _copy_of_the_package(tmp_path)
    (fake / "grafana" / "models.py").write_text(
        (fake / "grafana" / "models.py").read_text() + "\nfrom . import GrafanaClient  # noqa\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(
        AssertionError, match=r"grafana -> grafana\.models -> grafana|grafana\.models -> grafana"
    ):
        test_nothing_imports_in_a_circle()


def test_the_core_imports_without_pulumi_or_kubernetes() -> None:
    """A fresh interpreter loads the public face, the CLI and the sync pass without either package."""
    code = (
        "import sys, dawg_provider, dawg_provider.cli, dawg_provider.cluster.sync;"
        "print(sorted(m for m in ('pulumi', 'kubernetes', 'pulumi_kubernetes') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_provider_pickled_before_the_move_still_unpickles_to_the_same_blob() -> None:
    from dawg_provider.pulumi.provider import WasmDashboardProvider
    from tests.pulumi_engine import serialized_provider

    provider = pickle.loads(base64.b64decode(PROVIDER_BLOB_BEFORE_THE_MOVE))
    assert type(provider) is WasmDashboardProvider
    # Unchanged bytes: no `[diff: ~__provider]` on every resource after an upgrade.
    assert serialized_provider() == PROVIDER_BLOB_BEFORE_THE_MOVE


def test_every_public_name_still_imports_from_the_top() -> None:
    import dawg_provider

    for name in dawg_provider.__all__:
        assert getattr(dawg_provider, name) is not None, name


def test_the_install_component_keeps_its_documented_import() -> None:
    from dawg_provider.cluster import DawgSync, DawgSyncArgs, install

    assert DawgSync is install.DawgSync and DawgSyncArgs is install.DawgSyncArgs
