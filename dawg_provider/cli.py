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
from typing import Any

from .cluster.logformat import LogFormat
from .cluster.logformat import configure as configure_logs
from .errors import DawgError
from .grafana.v2 import as_object
from .kit import command as author_commands
from .kit import docs, golden, publish
from .kit.preview import Session
from .render import check_model
from .sources.artifact import Artifact
from .sources.credentials import parse_auth_realm
from .sources.fetch import Fetched, Fetcher
from .sources.reference import OciRef, parse_reference
from .sources.registry import RegistryClient, RegistryOptions
from .units import format_size, parse_duration, parse_size
from .wasm.limits import Limits
from .wasm.runtime import RenderedDashboard, Runtime

ENV_REGISTRY_PASSWORD = "DAWG_REGISTRY_PASSWORD"

EPILOG_RENDER = """\
examples:
  dawg render generators/dist/deployment.wasm --config generators/deployment/example.yaml
  echo 'app_name: web' | dawg render file://generators/dist/simple.wasm --config -
  dawg render ./service.wasm --config svc.yaml --timeout 10s --memory 512Mi > dashboard.json
  dawg render oci://registry.example.com/dashboards/deployment:v3.4.0 --config app.yaml

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
    registry = parser.add_argument_group("registries")
    registry.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="allow plain HTTP to this registry (loopback ones always may); also $DAWG_INSECURE_REGISTRIES",
    )
    registry.add_argument("--ca-bundle", metavar="FILE", help="PEM CA bundle for HTTPS registries")
    registry.add_argument(
        "--registry-auth-realm",
        action="append",
        default=[],
        metavar="REGISTRY=REALM_HOST",
        help="the registry's credentials may also go to its token service on REALM_HOST, over HTTPS "
        "(e.g. registry-1.docker.io=auth.docker.io); never to a realm host not listed",
    )
    registry.add_argument(
        "--registry-username",
        metavar="USER",
        help="registry user; the password comes from $DAWG_REGISTRY_PASSWORD or --registry-password-stdin",
    )
    registry.add_argument(
        "--registry-password-stdin", action="store_true", help="read the registry password from stdin"
    )
    registry.add_argument(
        "--docker-config",
        type=Path,
        metavar="FILE",
        help="docker config.json with credentials (default: $DOCKER_CONFIG)",
    )
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
        help="show what a generator is: digests, size, media types, annotations, contract",
        description="Describe GENERATOR (a file or an OCI reference) without running it.",
    )
    inspect.add_argument("generator", metavar="GENERATOR")
    inspect.add_argument("--json", action="store_true", help="print machine-readable JSON")
    inspect.set_defaults(handler=_inspect)

    docs_parser = commands.add_parser(
        "docs",
        help="print a generator's config reference (Markdown) from its config schema",
        description="Print the config fields GENERATOR takes, from the JSON Schema in its bytes.",
    )
    docs_parser.add_argument("generator", metavar="GENERATOR")
    docs_parser.set_defaults(handler=_docs)

    test = commands.add_parser(
        "test",
        help="render every config in a directory and compare with golden files",
        description="Render each NAME.yaml/.yml/.json in DIR with GENERATOR and compare it with "
        "NAME.golden.json (or NAME.golden.err for a config that must fail). Exit 1 on any difference.",
    )
    test.add_argument("generator", metavar="GENERATOR")
    test.add_argument("directory", nargs="?", default="tests", type=Path, metavar="DIR")
    test.add_argument("--update", action="store_true", help="write the golden files from this render")
    _add_limit_flags(test)
    test.set_defaults(handler=_test)

    author_commands.add_commands(commands, _render_for_preview, _add_limit_flags)

    push = commands.add_parser(
        "push",
        help="publish a .wasm generator to an OCI registry",
        description="Push WASM to an OCI registry as a DAWG generator artifact and print its digest.",
        epilog=EPILOG_PUSH,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    push.add_argument("wasm", type=Path, metavar="WASM", help="the generator module (.wasm)")
    push.add_argument("reference", metavar="oci://HOST/REPO:TAG")
    push.add_argument(
        "--version", dest="artifact_version", help="org.opencontainers.image.version (default: the tag)"
    )
    push.add_argument("--source", help="org.opencontainers.image.source, e.g. the repository URL")
    push.add_argument("--description", help="org.opencontainers.image.description")
    push.add_argument(
        "--created",
        help="org.opencontainers.image.created (RFC 3339; default: $SOURCE_DATE_EPOCH, else now)",
    )
    push.set_defaults(handler=_push)

    pull = commands.add_parser(
        "pull",
        help="download a generator from an OCI registry (verified, cached)",
        description="Pull REFERENCE into the local cache and write its .wasm to a file.",
    )
    pull.add_argument("reference", metavar="oci://HOST/REPO[:TAG][@DIGEST]")
    pull.add_argument(
        "-o", "--output", type=Path, help="where to write the .wasm (default: ./<repo name>.wasm)"
    )
    pull.set_defaults(handler=_pull)

    from .cluster import command as cluster_commands

    cluster = cluster_commands.add_commands(commands)
    cluster["sync"].set_defaults(handler=_sync)
    cluster["controller"].set_defaults(handler=_controller)
    summary = commands.add_parser(
        "preview-summary",
        help="turn `pulumi preview --json` into a Markdown PR comment, per dashboard and panel",
        description="Reads the JSON digest of `pulumi preview --json` and prints which WasmDashboards "
        "change, and in them which panels and paths (old -> new), counting the unchanged ones. "
        "Fits a GitHub comment (65,536 characters) by listing fewer lines per dashboard if needed.",
    )
    summary.add_argument("file", help="the saved `pulumi preview --json` output, or - for stdin")
    summary.add_argument("--limit", type=int, default=65_536, help="maximum characters (default 65536)")
    summary.set_defaults(handler=_preview_summary)
    return parser


EPILOG_PUSH = """\
examples:
  dawg push generators/dist/deployment.wasm oci://registry.example.com/dashboards/deployment:v3.4.0
  dawg push gen.wasm oci://127.0.0.1:5000/dawg/gen:v1 --source https://git.example.com/gen

The artifact has artifactType application/vnd.dawg.generator.v1 and one layer of
type application/vnd.wasm.content.layer.v1+wasm. Use the printed digest to pin it:
oci://HOST/REPO:TAG@sha256:... runs without any network once cached.
"""


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


def registry_options(args: argparse.Namespace) -> RegistryOptions:
    password = os.environ.get(ENV_REGISTRY_PASSWORD)
    if args.registry_password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if args.registry_username and password is None:
        raise DawgError(
            f"--registry-username needs a password: set {ENV_REGISTRY_PASSWORD} "
            "or use --registry-password-stdin"
        )
    return RegistryOptions.from_env(
        insecure=frozenset(args.insecure_registry) | RegistryOptions.from_env().insecure,
        ca_bundle=args.ca_bundle,
        username=args.registry_username,
        password=password if args.registry_username else None,
        docker_config=args.docker_config,
        auth_realms=frozenset(parse_auth_realm(text) for text in args.registry_auth_realm),
    )


def _fetcher(args: argparse.Namespace) -> Fetcher:
    return Fetcher(args.cache_dir, registry_options(args), Path.cwd())


def _fetch(args: argparse.Namespace, reference: str) -> Fetched:
    fetched = _fetcher(args).fetch(reference)
    for warning in fetched.warnings:
        print(f"dawg: warning: {warning}", file=sys.stderr)
    return fetched


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


def _run_checked(runtime: Runtime, artifact: Artifact, config: bytes, limits: Limits) -> RenderedDashboard:
    """Run and apply the output policy (`check_model`): render, test and preview alike,
    so a dashboard `dawg render` refuses is never a golden file nor saved by a preview."""
    rendered = runtime.run(artifact, config, limits)
    for warning in rendered.warnings + check_model(artifact.label, rendered.dashboard):
        print(f"dawg: warning: {warning}", file=sys.stderr)
    return rendered


def _render(args: argparse.Namespace) -> int:
    artifact = _fetch(args, args.generator).artifact
    rendered = _run_checked(_runtime(args), artifact, read_config(args.config), limits_from_args(args))
    if rendered.stderr.strip():
        for line in rendered.stderr.rstrip().splitlines():
            print(f"generator: {line}", file=sys.stderr)
    if args.compact and not rendered.warnings:
        sys.stdout.buffer.write(rendered.raw)
    elif args.compact:
        print(json.dumps(as_object(rendered.dashboard), separators=(",", ":"), ensure_ascii=False))
    else:
        print(json.dumps(as_object(rendered.dashboard), indent=2, ensure_ascii=False))
    logging.getLogger("dawg").info("rendered %s in %.1f ms", artifact.label, rendered.elapsed * 1000)
    return 0


_PREVIEW = Session()
"""`dawg preview` (and --watch) renders through one runtime per process."""


def _render_for_preview(args: argparse.Namespace, config: bytes) -> dict[str, Any]:
    artifact = _fetch(args, args.generator).artifact
    runtime = _PREVIEW.runtime_for(artifact.digest, lambda: _runtime(args))
    return _run_checked(runtime, artifact, config, limits_from_args(args)).dashboard


def _inspect(args: argparse.Namespace) -> int:
    fetched = _fetch(args, args.generator)
    runtime = _runtime(args)
    info = runtime.inspect(fetched.artifact)
    facts = publish.inspect_facts(fetched, info, runtime.config_schema(fetched.artifact))
    if args.json:
        print(json.dumps(facts, indent=2))
    else:
        print("\n".join(publish.inspect_lines(facts, info)))
    return 0


def _docs(args: argparse.Namespace) -> int:
    fetched = _fetch(args, args.generator)
    schema = _runtime(args).config_schema(fetched.artifact)
    print(docs.config_reference(args.generator, schema.schema if schema else None), end="")
    return 0


def _test(args: argparse.Namespace) -> int:
    if not args.directory.is_dir():
        raise DawgError(f"{args.directory}: not a directory of configs (NAME.yaml + NAME.golden.json)")
    cases = golden.find_cases(args.directory)
    if not cases:
        raise DawgError(f"{args.directory}: no configs (*.yaml, *.yml, *.json) to render")
    artifact = _fetch(args, args.generator).artifact
    runtime, limits = _runtime(args), limits_from_args(args)
    results = [
        golden.run_case(case, lambda c: _run_checked(runtime, artifact, c, limits).dashboard, args.update)
        for case in cases
    ]
    for result in results:
        print(f"{result.verdict.value:<8} {result.case.config}")
        if result.diff:
            print("    " + result.diff.replace("\n", "\n    "))
    bad = [r for r in results if r.verdict in (golden.Verdict.FAILED, golden.Verdict.MISSING)]
    summary = f"{len(results) - len(bad)} passed, {len(bad)} failed"
    if any(r.verdict is golden.Verdict.MISSING for r in bad):
        summary += " (MISSING: no golden file yet; run with --update to write it)"
    print(summary)
    return 1 if bad else 0


def _push(args: argparse.Namespace) -> int:
    ref = parse_reference(args.reference)
    if not isinstance(ref, OciRef) or ref.digest or ref.tag_defaulted:
        raise DawgError(f"{args.reference}: push needs oci://HOST/REPO:TAG (a tag, no digest)")
    try:
        wasm = args.wasm.read_bytes()
    except OSError as error:
        raise DawgError(f"{args.wasm}: cannot read it: {error.strerror}") from None
    info, schema = publish.check_generator(str(args.wasm), wasm, _runtime(args))
    annotations = publish.push_annotations(
        tag=ref.tag or "",
        version=args.artifact_version,
        created=args.created,
        source=args.source,
        description=args.description,
        title=args.wasm.name,
        contract=info.kind,
        schema=schema,
    )
    client = RegistryClient(registry_options(args))
    manifest = client.push(ref, wasm, annotations, args.wasm.name)
    print(f"pushed {ref.canonical}@{manifest.digest} ({info.kind.value})")
    print(f"digest: {manifest.digest}")
    return 0


def _pull(args: argparse.Namespace) -> int:
    ref = parse_reference(args.reference)
    if not isinstance(ref, OciRef):
        raise DawgError(f"{args.reference}: pull needs an oci:// reference")
    fetched = _fetch(args, args.reference)
    output: Path = args.output or Path(ref.repository.rsplit("/", 1)[-1] + ".wasm")
    output.write_bytes(fetched.artifact.wasm)
    pinned = fetched.ref.canonical if isinstance(fetched.ref, OciRef) else args.reference
    print(f"pulled {pinned}")
    print(f"digest: {fetched.artifact.digest} -> {output}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from .cluster.command import run_cli
    from .render import Renderer

    return run_cli(args, Renderer(_runtime(args), _fetcher(args)))


def _controller(args: argparse.Namespace) -> int:
    from .cluster.command import run_controller
    from .render import Renderer

    return run_controller(args, Renderer(_runtime(args), _fetcher(args)))


def _preview_summary(args: argparse.Namespace) -> int:
    from .pulumi.summary import summarize_json

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(errors="replace")
    print(summarize_json(text, "stdin" if args.file == "-" else args.file, args.limit))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    log_format = LogFormat(getattr(args, "log_format", LogFormat.TEXT.value))
    configure_logs(log_format, args.verbose)
    try:
        code: int = args.handler(args)
        return code
    except DawgError as error:
        if os.environ.get("DAWG_DEBUG") == "1":
            raise
        if log_format is LogFormat.JSON:  # the last word in the same form as the rest
            logging.getLogger("dawg").error("error: %s", error)
        else:
            print(f"dawg: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dawg: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
