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
from datetime import UTC, datetime
from pathlib import Path

import wasmtime

from .errors import DawgError, InvalidModule
from .sources.artifact import binary_kind
from .sources.fetch import Fetched, Fetcher
from .sources.reference import OciRef, parse_reference
from .sources.registry import RegistryClient, RegistryOptions
from .units import format_size, parse_duration, parse_size
from .wasm.limits import Limits
from .wasm.runtime import Runtime

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

    sync = commands.add_parser(
        "sync",
        help="reconcile Dashboard custom resources (or manifests) into Grafana, once",
        description="One pass: render every Dashboard resource, write what changed to Grafana, "
        "prune what this job created whose resource is gone, and report.",
        epilog=EPILOG_SYNC,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .cluster import command as sync_module

    sync_module.add_arguments(sync)
    sync.set_defaults(handler=_sync)
    crd = commands.add_parser("crd", help="print the Dashboard CustomResourceDefinition (YAML)")
    crd.set_defaults(handler=_crd)
    controller = commands.add_parser(
        "controller",
        help="watch Dashboard custom resources and reconcile each change within seconds",
        description="Run until interrupted: list and watch Dashboards, reconcile a changed one "
        "at once, run a full pass every --resync seconds, write only while holding the Lease.",
    )
    sync_module.add_controller_arguments(controller)
    controller.set_defaults(handler=_controller)
    install = commands.add_parser(
        "install-manifests",
        help="write the in-cluster install as plain manifests (for kubectl apply -k)",
        description="Write Namespace, CRD, RBAC, cache claims and the CronJobs or controller "
        "Deployments to DIR with a kustomization.yaml (the same objects the Pulumi component "
        "creates). The Grafana token Secret is not written.",
    )
    sync_module.add_install_arguments(install)
    install.set_defaults(handler=_install_manifests)
    return parser


EPILOG_PUSH = """\
examples:
  dawg push generators/dist/deployment.wasm oci://registry.example.com/dashboards/deployment:v3.4.0
  dawg push gen.wasm oci://127.0.0.1:5000/dawg/gen:v1 --source https://git.example.com/gen

The artifact has artifactType application/vnd.dawg.generator.v1 and one layer of
type application/vnd.wasm.content.layer.v1+wasm. Use the printed digest to pin it:
oci://HOST/REPO:TAG@sha256:... runs without any network once cached.
"""


EPILOG_SYNC = """\
examples:
  GRAFANA_URL=https://grafana.example.com GRAFANA_TOKEN=glsa_... dawg sync
  dawg sync --manifests deploy/examples --dry-run
  dawg sync --namespace team-a --owner k8s-prod-team-a

Exit code 1 when any Dashboard failed; the last line sums up the pass.
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


def _render(args: argparse.Namespace) -> int:
    limits = limits_from_args(args)
    config = read_config(args.config)
    artifact = _fetch(args, args.generator).artifact
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
    fetched = _fetch(args, args.generator)
    artifact = fetched.artifact
    info = _runtime(args).inspect(artifact)
    facts: dict[str, object] = {
        "reference": str(fetched.ref.canonical if isinstance(fetched.ref, OciRef) else fetched.ref),
        "digest": artifact.digest,
        "size": len(artifact.wasm),
        "contract": info.kind.value,
        "imports": list(info.imports),
        "exports": list(info.exports),
    }
    manifest = fetched.manifest
    if manifest is not None:
        layer = next(layer for layer in manifest.layers if layer.digest == artifact.digest)
        facts["manifest"] = {
            "digest": manifest.digest,
            "mediaType": manifest.media_type,
            "artifactType": manifest.artifact_type,
            "configMediaType": manifest.config.media_type,
            "layerMediaType": layer.media_type,
            "annotations": manifest.annotations,
        }
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    print(f"reference:      {facts['reference']}")
    print(f"digest:         {artifact.digest}  (the .wasm)")
    print(f"size:           {facts['size']} bytes ({format_size(len(artifact.wasm))})")
    if manifest is not None:
        layer_type = next(layer.media_type for layer in manifest.layers if layer.digest == artifact.digest)
        print(f"manifest:       {manifest.digest}")
        print(f"media types:    {manifest.media_type}; artifactType {manifest.artifact_type or '-'}")
        print(f"                config {manifest.config.media_type}; layer {layer_type}")
        for key, value in sorted(manifest.annotations.items()):
            print(f"annotation:     {key}={value}")
    print(f"contract:       {info.kind.value}")
    print(f"imports:        {', '.join(name.split('.', 1)[1] for name in info.imports) or '-'}")
    print(f"exports:        {', '.join(info.exports) or '-'}")
    return 0


def _push(args: argparse.Namespace) -> int:
    ref = parse_reference(args.reference)
    if not isinstance(ref, OciRef) or ref.digest or ref.tag_defaulted:
        raise DawgError(f"{args.reference}: push needs oci://HOST/REPO:TAG (a tag, no digest)")
    try:
        wasm = args.wasm.read_bytes()
    except OSError as error:
        raise DawgError(f"{args.wasm}: cannot read it: {error.strerror}") from None
    binary_kind(str(args.wasm), wasm)
    try:
        wasmtime.Module.validate(_runtime(args).engine, wasm)
    except wasmtime.WasmtimeError as error:
        raise InvalidModule(
            str(args.wasm), f"is not a valid WebAssembly module: {str(error).splitlines()[0]}"
        ) from None
    annotations = push_annotations(
        tag=ref.tag or "",
        version=args.artifact_version,
        created=args.created,
        source=args.source,
        description=args.description,
        title=args.wasm.name,
    )
    client = RegistryClient(registry_options(args))
    manifest = client.push(ref, wasm, annotations, args.wasm.name)
    print(f"pushed {ref.canonical}@{manifest.digest}")
    print(f"digest: {manifest.digest}")
    return 0


def push_annotations(
    *,
    tag: str,
    version: str | None,
    created: str | None,
    source: str | None,
    description: str | None,
    title: str,
) -> dict[str, str]:
    """The OCI annotations of a pushed generator; `created` honours SOURCE_DATE_EPOCH."""
    if created is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
        created = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    annotations = {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.version": version or tag,
        "org.opencontainers.image.created": created,
    }
    if source:
        annotations["org.opencontainers.image.source"] = source
    if description:
        annotations["org.opencontainers.image.description"] = description
    return annotations


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


def _install_manifests(args: argparse.Namespace) -> int:
    from .cluster.command import run_install

    return run_install(args)


def _crd(args: argparse.Namespace) -> int:
    import yaml

    from .cluster.crd import crd_manifest

    print(yaml.safe_dump(crd_manifest(), sort_keys=False), end="")
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
