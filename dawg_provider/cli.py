"""The `dawg` command line: a thin adapter over the core.

Each subcommand parses its flags, calls the core, and prints. Errors DAWG raises on
purpose are printed as their message alone (exit 1); argparse reports usage errors
(exit 2). No traceback reaches the user unless `DAWG_DEBUG=1` is set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .artifact import Artifact, load_artifact
from .errors import DawgError
from .limits import Limits, format_size, parse_duration, parse_size
from .reference import parse_reference
from .runtime import Runtime

EPILOG_RENDER = """\
examples:
  dawg render generators/dist/deployment.wasm --config generators/deployment/example.yaml
  echo 'app_name: web' | dawg render file://generators/dist/simple.wasm --config -
  dawg render ./service.wasm --config svc.yaml --timeout 10s --memory 512Mi > dashboard.json

The generator gets the config text exactly as written (YAML or JSON) on stdin and
prints the dashboard JSON; see docs/generator-contract.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dawg",
        description="DAWG: Grafana dashboards rendered by sandboxed WebAssembly generators.",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="where compiled generators are cached (default: $DAWG_CACHE_DIR, else $XDG_CACHE_HOME/dawg)",
    )
    parser.add_argument("--no-disk-cache", action="store_true", help="compile in memory only; write nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="log cache and timing details to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser(
        "render",
        help="run a generator on a config and print the dashboard JSON",
        description="Run GENERATOR in the sandbox on a config and print the dashboard it generates.",
        epilog=EPILOG_RENDER,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument(
        "generator", metavar="GENERATOR", help="path or file:// reference to a .wasm generator"
    )
    render.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="config file (YAML or JSON) passed to the generator; - reads stdin",
    )
    _add_limit_flags(render)
    render.add_argument("--compact", action="store_true", help="print the generator's exact output bytes")
    render.set_defaults(handler=_render)

    inspect = commands.add_parser(
        "inspect",
        help="show what a generator is: digest, size, contract, imports and exports",
        description="Describe GENERATOR without running it.",
    )
    inspect.add_argument("generator", metavar="GENERATOR")
    inspect.add_argument("--json", action="store_true", help="print machine-readable JSON")
    inspect.set_defaults(handler=_inspect)
    return parser


def _add_limit_flags(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    parser.add_argument(
        "--timeout",
        metavar="DURATION",
        help=f"wall-clock limit, e.g. 5s or 500ms (default {defaults.timeout:g}s)",
    )
    parser.add_argument(
        "--memory",
        metavar="SIZE",
        help=f"linear-memory limit, e.g. 256Mi (default {format_size(defaults.memory)})",
    )
    parser.add_argument(
        "--max-output",
        metavar="SIZE",
        help=f"stdout limit, e.g. 8Mi (default {format_size(defaults.max_output)})",
    )


def limits_from_args(args: argparse.Namespace) -> Limits:
    defaults = Limits()
    return Limits(
        timeout=parse_duration(args.timeout, "--timeout") if args.timeout else defaults.timeout,
        memory=parse_size(args.memory, "--memory") if args.memory else defaults.memory,
        max_output=parse_size(args.max_output, "--max-output") if args.max_output else defaults.max_output,
    )


def _runtime(args: argparse.Namespace) -> Runtime:
    return Runtime(args.cache_dir, disk_cache=not args.no_disk_cache)


def _artifact(text: str) -> Artifact:
    return load_artifact(parse_reference(text, Path.cwd()))


def read_config(path: str | None) -> bytes:
    """The config bytes exactly as written: a file, `-` for stdin, or empty."""
    if path is None:
        return b""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise DawgError(f"config file {path}: cannot read it: {error.strerror}") from None


def _render(args: argparse.Namespace) -> int:
    limits = limits_from_args(args)
    artifact = _artifact(args.generator)
    config = read_config(args.config)
    rendered = _runtime(args).run(artifact, config, limits)
    if rendered.stderr.strip():
        for line in rendered.stderr.rstrip().splitlines():
            print(f"generator: {line}", file=sys.stderr)
    if args.compact:
        sys.stdout.buffer.write(rendered.raw)
    else:
        print(json.dumps(rendered.dashboard, indent=2, ensure_ascii=False))
    logging.getLogger("dawg").info("rendered %s in %.1f ms", artifact.label, rendered.elapsed * 1000)
    return 0


def _inspect(args: argparse.Namespace) -> int:
    artifact = _artifact(args.generator)
    info = _runtime(args).inspect(artifact)
    facts = {
        "reference": artifact.source,
        "digest": artifact.digest,
        "size": len(artifact.wasm),
        "contract": info.kind.value,
        "imports": list(info.imports),
        "exports": list(info.exports),
    }
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    print(f"reference:  {artifact.source}")
    print(f"digest:     {artifact.digest}")
    print(f"size:       {len(artifact.wasm)} bytes ({format_size(len(artifact.wasm))})")
    print(f"contract:   {info.kind.value}")
    print(f"imports:    {', '.join(name.split('.', 1)[1] for name in info.imports) or '-'}")
    print(f"exports:    {', '.join(info.exports) or '-'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="dawg: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.handler(args)
        return code
    except DawgError as error:
        if os.environ.get("DAWG_DEBUG") == "1":
            raise
        print(f"dawg: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dawg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
