"""The author-only subcommands that need neither a registry nor a runtime: `new`, `embed-schema`.

Registered on the CLI's parser by `cli.py` (like `cluster.command` for `dawg sync`),
so the adapter stays thin; errors are `DawgError`s the CLI prints as one line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import DawgError, GeneratorError
from ..grafana import GrafanaClient, GrafanaConnection
from ..grafana.modelcheck import Severity, check_dashboard
from ..grafana.modelcheck_v2 import check_resource
from . import fromjson, publish
from . import new as new_project
from . import preview as previews
from .new import TemplateLanguage

FROM_JSON = "json"
Render = Callable[[argparse.Namespace, bytes], dict[str, Any]]
"""Renders `args.generator` on a config (fetched afresh, so a rebuilt .wasm is seen)."""


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    render: Render,
    add_limit_flags: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add `dawg new`, `embed-schema` and `preview` to the CLI's subcommands."""
    preview_parser = commands.add_parser(
        "preview",
        help="render into a development Grafana and print the URL; --watch re-renders on change",
        description="Render GENERATOR on --config and save it to a scratch folder of the Grafana at "
        "--grafana-url ($GRAFANA_URL; token in $GRAFANA_TOKEN). Each (generator, config) pair keeps one "
        "preview dashboard, replaced on every render.",
    )
    preview_parser.add_argument("generator", metavar="GENERATOR")
    preview_parser.add_argument("-c", "--config", required=True, type=Path, metavar="FILE")
    preview_parser.add_argument("--grafana-url", default=os.environ.get("GRAFANA_URL"))
    preview_parser.add_argument("--folder", default=previews.DEFAULT_FOLDER, help="scratch folder title")
    preview_parser.add_argument(
        "--watch", action="store_true", help="re-render when the .wasm or config changes"
    )
    preview_parser.add_argument("--interval", type=float, default=0.5, help="--watch polling interval (s)")
    validate_parser = commands.add_parser(
        "validate",
        help="check dashboard JSON files against Grafana's dashboard model (classic or schema v2)",
        description='Check each FILE (a dashboard, a {"dashboard": ...} export, or a schema v2 '
        "{apiVersion, kind, spec} resource) with the rules "
        "DAWG applies to generated dashboards; exit 1 when any has an error.",
    )
    validate_parser.add_argument("files", nargs="+", type=Path, metavar="FILE.json")
    validate_parser.set_defaults(handler=validate)
    add_limit_flags(preview_parser)
    preview_parser.set_defaults(handler=lambda args: preview(args, render))
    new_parser = commands.add_parser(
        "new",
        help="start a generator project from a template (go, zig, c, python, javascript)",
        description="Write a buildable generator project into DIR: source, build.sh, schema.json, "
        "example.yaml, golden tests and a README.",
    )
    new_parser.add_argument(
        "language",
        choices=[*(language.value for language in TemplateLanguage), FROM_JSON],
        help=f"a template, or {FROM_JSON} to make a generator from a dashboard JSON (--from, --var)",
    )
    new_parser.add_argument("directory", type=Path, metavar="DIR")
    new_parser.add_argument("--name", help="the generator's name (default: the directory's name)")
    new_parser.add_argument("--from", dest="source", type=Path, metavar="DASHBOARD.json")
    new_parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value of the dashboard to make a field",
    )
    new_parser.set_defaults(handler=new)

    embed_parser = commands.add_parser(
        "embed-schema",
        help="put a config schema (JSON Schema) into a generator's .wasm",
        description="Check SCHEMA as DAWG will, and write it into WASM's dawg.config-schema custom "
        "section (replacing any there). Works for core modules and components.",
    )
    embed_parser.add_argument("wasm", type=Path, metavar="WASM")
    embed_parser.add_argument("schema", type=Path, metavar="SCHEMA.json")
    embed_parser.add_argument(
        "-o", "--output", type=Path, help="write here instead of changing WASM in place"
    )
    embed_parser.set_defaults(handler=embed_schema)


def new(args: argparse.Namespace) -> int:
    if args.language == FROM_JSON:
        if args.source is None:
            raise DawgError("dawg new json needs --from DASHBOARD.json and --var NAME=VALUE ...")
        name = args.name or args.directory.resolve().name
        written, counts = fromjson.create(args.directory, name, args.source, args.var)
        for variable, count in sorted(counts.items()):
            print(f"variable {variable}: {count} place{'s' * (count != 1)} in the dashboard")
    else:
        if args.source is not None or args.var:
            raise DawgError("--from and --var are for `dawg new json`")
        written = new_project.create(TemplateLanguage(args.language), args.directory, args.name)
    for path in written:
        print(f"created {path}")
    print(f"next: cd {args.directory} && bash build.sh && dawg test dist/*.wasm tests")
    return 0


def embed_schema(args: argparse.Namespace) -> int:
    try:
        wasm, schema = args.wasm.read_bytes(), args.schema.read_bytes()
    except OSError as error:
        raise DawgError(f"{error.filename}: cannot read it: {error.strerror}") from None
    output: Path = args.output or args.wasm
    output.write_bytes(publish.embed_schema(str(args.wasm), wasm, str(args.schema), schema))
    print(f"embedded {args.schema} into {output}")
    return 0


def preview(args: argparse.Namespace, render: Render) -> int:
    if not args.grafana_url:
        raise DawgError("no Grafana: give --grafana-url or set GRAFANA_URL (and GRAFANA_TOKEN)")
    client = GrafanaClient(GrafanaConnection(args.grafana_url, token=os.environ.get("GRAFANA_TOKEN")))
    uid = previews.preview_uid(args.generator, str(args.config.resolve()))
    watched = [args.config] + (
        [Path(args.generator.removeprefix("file://"))]
        if "://" not in args.generator or args.generator.startswith("file://")
        else []
    )
    for _ in previews.changes(watched, args.interval) if args.watch else iter([None]):
        try:
            config = args.config.read_bytes()
            published = previews.publish(client, render(args, config), uid, args.folder)
        except OSError as error:
            if not args.watch:
                raise DawgError(f"config file {args.config}: cannot read it: {error.strerror}") from None
            print(f"dawg: config file {args.config}: {error.strerror}; waiting for a change", file=sys.stderr)
            continue
        except GeneratorError as error:
            if not args.watch:
                raise
            print(f"dawg: error: {error}\ndawg: waiting for a change", file=sys.stderr)
            continue
        print(f"preview v{published.version}: {published.url}", flush=True)
    return 0


def validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            print(f"{path}: error: cannot read it as JSON: {error}")
            failed += 1
            continue
        value = (
            value["dashboard"]
            if isinstance(value, dict) and isinstance(value.get("dashboard"), dict)
            else value
        )
        if not isinstance(value, dict):
            print(f"{path}: error: not a dashboard (a JSON object)")
            failed += 1
            continue
        # A v2 resource ({apiVersion, kind, spec}) is checked as one (grafana/modelcheck_v2.py).
        findings = (
            check_resource(value) if "apiVersion" in value or "kind" in value else check_dashboard(value)
        )
        for finding in findings:
            print(f"{path}: {finding.severity.value}: {finding}")
        failed += any(finding.severity is Severity.ERROR for finding in findings)
        if not findings:
            print(f"{path}: ok")
    return 1 if failed else 0
