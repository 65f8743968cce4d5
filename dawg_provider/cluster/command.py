"""`dawg sync` on the command line: its flags, building a pass from them, and the report.

The CLI (`dawg_provider.cli`) adds these flags to its `sync` subcommand and calls
`run_cli`; this module never imports the CLI.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DawgError, register_secret
from ..grafana import GrafanaClient, GrafanaConnection, HealthState, ownership
from ..render import Renderer
from ..units import parse_duration, parse_size
from ..wasm.limits import Limits
from . import kustomize
from .logformat import LogFormat
from .manifests import InstallSpec, Mode
from .reach import ReachPolicy
from .report import report
from .sources import ClusterSource, ManifestSource, Source
from .stopsignal import StopSignal, exit_now, run_until_stopped
from .sync import DEFAULT_OWNER, Outcome, Summary, SyncJob, SyncOptions
from .tenancy import DEFAULT_ROOT, TenancyPolicy

if TYPE_CHECKING:
    from .metrics import Metrics

SHUTDOWN_GRACE = 20.0
"""Seconds `dawg controller` waits on SIGTERM for writes in flight before leaving the
Lease to expire: under Kubernetes' default 30 s termination grace period."""
EXIT_JOB_FAILED = 1
EXIT_CR_ERRORS = 3
"""Not 2: argparse exits 2 on a usage error."""


EPILOG_SYNC = """\
examples:
  GRAFANA_URL=https://grafana.example.com GRAFANA_TOKEN=glsa_... dawg sync
  dawg sync --manifests deploy/examples --dry-run
  dawg sync --namespace team-a --owner k8s-prod-team-a

exit codes (the last line sums up the pass):
  0  the pass did its work; a Dashboard that failed says so in its own status
  1  the job itself failed: listing, reaching Grafana, writing statuses, or pruning refused
  3  with --fail-on-cr-errors: the pass did its work but some Dashboard failed
  2  a usage error (bad flags)
"""


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[str, argparse.ArgumentParser]:
    """The cluster subcommands (`sync`, `controller`, `install-manifests`, `crd`). `sync` and
    `controller` need the CLI's renderer: the caller sets their handlers."""
    sync = commands.add_parser(
        "sync",
        help="reconcile Dashboard custom resources (or manifests) into Grafana, once",
        description="One pass: render every Dashboard resource, write what changed to Grafana, "
        "prune what this job created whose resource is gone, and report.",
        epilog=EPILOG_SYNC,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(sync)
    controller = commands.add_parser(
        "controller",
        help="watch Dashboard custom resources and reconcile each change within seconds",
        description="Run until interrupted: list and watch Dashboards, reconcile a changed one "
        "at once, run a full pass every --resync seconds, write only while holding the Lease.",
    )
    add_controller_arguments(controller)
    install = commands.add_parser(
        "install-manifests",
        help="write the in-cluster install as plain manifests (for kubectl apply -k)",
        description="Write Namespace, RBAC, cache claims and the CronJobs or controller "
        "Deployments to DIR with a kustomization.yaml, and the CRD to DIR/crd (its own, so "
        "kubectl delete -k DIR keeps it; the same objects the Pulumi component "
        "creates). The Grafana token Secret is not written.",
    )
    add_install_arguments(install)
    install.set_defaults(handler=run_install)
    crd = commands.add_parser("crd", help="print the Dashboard CustomResourceDefinition (YAML)")
    crd.set_defaults(handler=print_crd)
    return {"sync": sync, "controller": controller, "install-manifests": install, "crd": crd}


def print_crd(args: argparse.Namespace) -> int:
    """`dawg crd`: the Dashboard CustomResourceDefinition, as YAML."""
    import yaml

    from .crd import crd_manifest

    print(yaml.safe_dump(crd_manifest(), sort_keys=False), end="")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("where Dashboard resources come from")
    source.add_argument(
        "--manifests",
        type=Path,
        metavar="DIR",
        help="read Dashboard manifests from files instead of the cluster",
    )
    source.add_argument(
        "--namespace", action="append", default=[], help="only these namespaces (repeatable; default all)"
    )
    source.add_argument(
        "--exclude-namespace",
        action="append",
        default=[],
        metavar="NAMESPACE",
        help="never these namespaces (repeatable; for a shard that takes the rest of the cluster)",
    )
    source.add_argument("--selector", "-l", metavar="LABELS", help="only CRs matching this label selector")
    source.add_argument(
        "--kubeconfig", help="kubeconfig file (default: in-cluster service account, else ~/.kube/config)"
    )
    parser.add_argument(
        "--log-format",
        choices=[f.value for f in LogFormat],
        default=LogFormat.TEXT.value,
        help="json: one object a line (time, level, logger, message) for a log pipeline",
    )
    grafana = parser.add_argument_group("Grafana")
    grafana.add_argument("--grafana-url", default=os.environ.get("GRAFANA_URL"), help="default $GRAFANA_URL")
    grafana.add_argument(
        "--grafana-token",
        default=os.environ.get("GRAFANA_TOKEN"),
        help="default $GRAFANA_TOKEN (prefer the variable)",
    )
    grafana.add_argument(
        "--grafana-org-id", type=int, default=_env_int("GRAFANA_ORG_ID"), help="default $GRAFANA_ORG_ID"
    )
    grafana.add_argument("--grafana-ca-bundle", help="PEM CA bundle for Grafana's TLS certificate")
    grafana.add_argument(
        "--deadline",
        type=float,
        default=840.0,
        metavar="SECONDS",
        help="the whole pass's deadline: no generator run starts that could end later (those CRs "
        "are deferred to the next pass), and for dawg sync Grafana calls stop too; default 840, "
        "the CronJob is killed at 900",
    )
    behaviour = parser.add_argument_group("behaviour")
    behaviour.add_argument(
        "--owner",
        default=os.environ.get("DAWG_OWNER", DEFAULT_OWNER),
        help="owner tag of this job; unique per job",
    )
    behaviour.add_argument("--dry-run", action="store_true", help="print the plan with diffs; write nothing")
    behaviour.add_argument(
        "--fail-on-cr-errors",
        action="store_true",
        help=f"exit {EXIT_CR_ERRORS} when a Dashboard failed (default: failures live in its status, exit 0)",
    )
    behaviour.add_argument("--concurrency", type=int, default=4, help="CRs synced at once (default 4)")
    behaviour.add_argument("--no-prune", action="store_true", help="never delete dashboards whose CR is gone")
    behaviour.add_argument(
        "--force-prune", action="store_true", help="prune even more than half of what this job owns"
    )
    behaviour.add_argument(
        "--verify-interval",
        type=int,
        default=30,
        metavar="MINUTES",
        help="re-check unchanged CRs against Grafana this often",
    )
    behaviour.add_argument(
        "--instance",
        default=os.environ.get("DAWG_INSTANCE"),
        help="who this job is, for the owner's lease (default: the host name and the source)",
    )
    policy = parser.add_argument_group(
        "tenancy policy (what each namespace's Dashboard resources may do; strict by default)"
    )
    policy.add_argument(
        "--folder-root",
        action="append",
        default=[],
        metavar="NAMESPACE=PATH",
        help=f"folder root of a namespace (repeatable; NAMESPACE may be *, PATH may use "
        f"{{namespace}}, PATH * = any folder; default *={DEFAULT_ROOT})",
    )
    policy.add_argument(
        "--allow-literal-uid",
        action="append",
        default=[],
        metavar="NAMESPACE",
        help="namespaces (or *) whose spec.uid is used as written, not scoped to the namespace",
    )
    policy.add_argument(
        "--max-memory",
        default="256Mi",
        help="most linear memory a generator may have; a CR may ask for less (default 256Mi)",
    )
    policy.add_argument(
        "--max-timeout",
        default="10s",
        help="longest a generator may run; a CR may ask for less (default 10s)",
    )
    policy.add_argument(
        "--namespace-budget",
        default="120s",
        help="generator seconds one namespace may use per pass; its other CRs are deferred (default 120s)",
    )
    policy.add_argument(
        "--allowed-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="registries generators may come from (repeatable; in the cluster none without it, "
        "loopback included; with --manifests any)",
    )
    policy.add_argument(
        "--allowed-file-root",
        action="append",
        default=[],
        metavar="DIR",
        help="directories file:// generators may come from (repeatable; default "
        "/opt/dawg/generators in the cluster, the current directory with --manifests)",
    )
    policy.add_argument(
        "--allow-adopt",
        action="append",
        default=[],
        metavar="NAMESPACE",
        help="namespaces (or *) whose resources may adopt dashboards DAWG did not write",
    )


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value and value.isdigit() else None


def prepare(args: argparse.Namespace) -> tuple[Source, SyncOptions, GrafanaConnection]:
    """What `dawg sync` and `dawg controller` build from the same flags."""
    if not args.grafana_url:
        raise DawgError("no Grafana: give --grafana-url or set GRAFANA_URL (and GRAFANA_TOKEN)")
    register_secret(args.grafana_token)
    problem = ownership.owner_problem(args.owner)
    if problem:
        raise DawgError(f"--owner: {problem}")
    connection = GrafanaConnection(
        args.grafana_url,
        token=args.grafana_token,
        org_id=args.grafana_org_id,
        ca_bundle=args.grafana_ca_bundle,
        deadline=args.deadline,
    )
    source: Source
    if args.manifests is not None:
        source = ManifestSource(args.manifests)
        where = f"manifests {args.manifests.resolve()}"
    else:
        source = ClusterSource.connect(args.kubeconfig, args.namespace, args.selector, args.exclude_namespace)
        where = (
            f"cluster namespaces={','.join(args.namespace) or '*'} selector={args.selector or ''}"
            f" exclude={','.join(args.exclude_namespace)}"
        )
    options = SyncOptions(
        owner=args.owner,
        dry_run=args.dry_run,
        concurrency=args.concurrency,
        prune=not args.no_prune,
        force_prune=args.force_prune,
        verify_interval=timedelta(minutes=args.verify_interval),
        policy=TenancyPolicy.from_flags(
            args.folder_root,
            args.allow_literal_uid,
            args.allow_adopt,
            Limits(memory=parse_size(args.max_memory, "--max-memory")).memory,
            Limits(timeout=parse_duration(args.max_timeout, "--max-timeout")).timeout,
        ),
        instance=args.instance or f"{socket.gethostname()} {where}",
        deadline=args.deadline,
        namespace_budget=parse_duration(args.namespace_budget, "--namespace-budget"),
        reach=ReachPolicy.for_job(
            args.allowed_registry, args.allowed_file_root, cluster=args.manifests is None
        ),
    )
    return source, options, connection


def restrict_transport(renderer: Renderer, options: SyncOptions) -> None:
    """Redirects and token realms may lead only to allowed hosts too (sources.transport)."""
    renderer.fetcher.options = replace(renderer.fetcher.options, allowed_hosts=options.reach.registries)


def run_cli(args: argparse.Namespace, renderer: Renderer) -> int:
    """`dawg sync`; returns the exit code."""
    source, options, connection = prepare(args)
    restrict_transport(renderer, options)
    summary = SyncJob(source, lambda: GrafanaClient(connection), renderer, options).run()
    report(summary, options.dry_run, sys.stdout, LogFormat(args.log_format))
    return exit_code(summary, args.fail_on_cr_errors)


def add_controller_arguments(parser: argparse.ArgumentParser) -> None:
    """`dawg controller`: the sync flags, plus the watch, the Lease and the metrics port."""
    add_arguments(parser)
    controller = parser.add_argument_group("controller")
    controller.add_argument("--resync", type=float, default=300.0, metavar="SECONDS", help="full pass period")
    controller.add_argument("--lease-namespace", help="hold this Lease to write (leader election)")
    controller.add_argument("--lease-name", default="dawg-controller")
    controller.add_argument("--identity", default=socket.gethostname(), help="this replica, in the Lease")
    controller.add_argument("--metrics-port", type=int, default=0, help="serve /metrics here (0: off)")


def run_controller(args: argparse.Namespace, renderer: Renderer) -> int:
    """`dawg controller`: runs until interrupted."""
    from .controller import Controller
    from .kube import Kube
    from .leader import LeaderElector
    from .metrics import Metrics
    from .sources import api_client

    if args.manifests is not None or args.dry_run:
        raise DawgError("dawg controller watches the cluster: --manifests and --dry-run are for dawg sync")
    stop = StopSignal()  # before any thread starts: every thread inherits the blocked signals
    try:
        source, options, connection = prepare(args)
        # --deadline bounds each pass (SyncOptions.deadline). On the connection it would be
        # one budget for the process's whole life (HealthState starts it at the first
        # request): Grafana would be out of reach for good 14 minutes after start.
        connection = replace(connection, deadline=None, health=HealthState())
        restrict_transport(renderer, options)
        assert isinstance(source, ClusterSource)
        kube = Kube(api_client(args.kubeconfig, retries=0))  # Lease calls bounded by one timeout
        metrics = Metrics()
        grafana = instrument(metrics, connection, renderer)

        def make_job(batch: Source, prune: bool) -> SyncJob:
            return SyncJob(batch, grafana, renderer, replace(options, prune=options.prune and prune))

        elector = None
        if args.lease_namespace:
            elector = LeaderElector(kube, args.lease_namespace, args.lease_name, args.identity)
            elector.on_lost = lambda: exit_now(EXIT_JOB_FAILED)  # see leader.py: no write outlives it
        controller = Controller(
            kube,
            source,
            make_job,
            elector=elector,
            metrics=metrics,
            resync=args.resync,
            owner=options.owner,
            wind_down=connection.health.wind_down,
        )
        if args.metrics_port:
            metrics.serve(args.metrics_port, controller.health)
        controller.start()
        return run_until_stopped(stop, controller.run_forever, controller.shutdown, SHUTDOWN_GRACE)
    finally:
        stop.restore()


def instrument(
    metrics: Metrics, connection: GrafanaConnection, renderer: Renderer
) -> Callable[[], GrafanaClient]:
    """Wire the parts' observers to the metrics: every Grafana attempt and registry request
    counted by status class (errors apart), every render timed. Returns the Grafana client
    factory the jobs use."""

    def grafana() -> GrafanaClient:
        client = GrafanaClient(connection)
        client.observer = metrics.grafana_request
        return client

    renderer.fetcher.client.observer = metrics.registry_request
    render = renderer.render_fetched

    def render_fetched(*args: Any, **kwargs: Any) -> Any:
        with metrics.generator.time():
            return render(*args, **kwargs)

    renderer.render_fetched = render_fetched  # type: ignore[method-assign]
    return grafana


def exit_code(summary: Summary, fail_on_cr_errors: bool = False) -> int:
    """0: the pass did its work (a CR's failure is in that CR's status, where its team
    looks, so a CronJob does not fail, and alert, every run for one bad CR);
    1: the job failed (listing, Grafana, status writes, pruning refused);
    3: opted in with --fail-on-cr-errors, some Dashboard failed. Pure."""
    if summary.job_failed:
        return EXIT_JOB_FAILED
    if fail_on_cr_errors and summary.count(Outcome.FAILED):
        return EXIT_CR_ERRORS
    return 0


def add_install_arguments(parser: argparse.ArgumentParser) -> None:
    """`dawg install-manifests`: the choices of `manifests.InstallSpec` an operator makes most."""
    parser.add_argument("--output", "-o", type=Path, default=Path("deploy/install"), metavar="DIR")
    parser.add_argument("--image", required=True, help="the DAWG image: a version tag or @sha256 digest")
    parser.add_argument("--grafana-url", required=True)
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.CRONJOB.value)
    parser.add_argument("--namespace", default="dawg-system", help="where DAWG runs")
    parser.add_argument("--cluster-name", default="cluster", help="owner tags become k8s-NAME-SHARD")
    parser.add_argument("--image-pull-secret", action="append", default=[], metavar="NAME")
    parser.add_argument(
        "--registry-credentials-secret", metavar="NAME", help="a kubernetes.io/dockerconfigjson Secret"
    )
    parser.add_argument("--grafana-ca-configmap", metavar="NAME", help="a ConfigMap with ca.crt")
    parser.add_argument("--allowed-registry", action="append", default=[], metavar="HOST[:PORT]")
    parser.add_argument("--no-persistent-cache", action="store_true", help="an emptyDir cache")


def run_install(args: argparse.Namespace) -> int:
    spec = InstallSpec(
        image=args.image,
        grafana_url=args.grafana_url,
        mode=Mode(args.mode),
        namespace=args.namespace,
        cluster_name=args.cluster_name,
        image_pull_secrets=args.image_pull_secret,
        registry_credentials_secret=args.registry_credentials_secret,
        grafana_ca_configmap=args.grafana_ca_configmap,
        allowed_registries=args.allowed_registry,
        registry_auth_realms=args.registry_auth_realm,
        persistent_cache=not args.no_persistent_cache,
    )
    for path in kustomize.write(spec, args.output):
        print(f"wrote {path}")
    print(kustomize.secrets_step(spec))
    return 0
