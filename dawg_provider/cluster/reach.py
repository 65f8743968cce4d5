"""Where a CR may make the job fetch a generator from: the job's reach policy.

A generator reference is a request the job carries out with its own network position
and file system. Without a limit, one CR makes the job send requests to any internal
address (`oci://10.0.0.1:8080/...`, `oci://169.254.169.254/...`) or read any file
the job can (`file:///var/run/secrets/...`, `/dev/zero`, a FIFO). So in the cluster:

- **Registries**: only hosts on the allow-list (`--allowed-registry HOST[:PORT]`,
  repeatable) are fetched from; the comparison is exact and case-insensitive, and a
  loopback host is not implicitly allowed. Without any `--allowed-registry`, a
  `--manifests` run (local, GitOps: its author is the operator) reaches every
  registry, and a cluster run reaches none: every `oci://` CR fails with a condition
  naming the flag.
- **Files**: only under the allowed roots (`--allowed-file-root DIR`, default the
  image's generator directory `/opt/dawg/generators` in the cluster, the current
  directory for `--manifests`), after resolving symlinks (`realpath`), and only
  regular files: a device, a FIFO or a directory is refused before it is opened.
  Reading is capped by `sources.artifact.MAX_ARTIFACT_SIZE`.

Decided by a pure function of the reference and the policy (`reach_problem`),
except for the file's `stat`, which must look at what the path is.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import DawgError
from ..sources.reference import FileRef, parse_reference

IMAGE_GENERATORS = Path("/opt/dawg/generators")


@dataclass(frozen=True)
class ReachPolicy:
    """What generator references the job follows; `None` fields mean no restriction."""

    registries: frozenset[str] | None = None
    """Allowed registry hosts (`host[:port]`, lower case); None = any."""
    file_roots: tuple[Path, ...] | None = None
    """Allowed directories for file generators (resolved); None = any."""

    @classmethod
    def for_job(cls, registries: list[str], file_roots: list[str], cluster: bool) -> ReachPolicy:
        allowed = frozenset(host.strip().lower() for host in registries if host.strip())
        roots = [Path(root) for root in file_roots] or ([IMAGE_GENERATORS] if cluster else [Path.cwd()])
        return cls(
            registries=allowed if (allowed or cluster) else None,
            file_roots=tuple(Path(os.path.realpath(root)) for root in roots),
        )


def reach_problem(generator: str, policy: ReachPolicy, base_dir: Path | None = None) -> str | None:
    """Why the job will not fetch `generator` for a CR, or None."""
    try:
        ref = parse_reference(generator, base_dir)
    except DawgError:
        return None  # parse_spec has reported it already
    if isinstance(ref, FileRef):
        return _file_problem(ref, policy)
    if policy.registries is None or ref.registry.lower() in policy.registries:
        return None
    allowed = ", ".join(sorted(policy.registries)) or "none"
    return (
        f"spec.generator: registry {ref.registry!r} is not on the job's allow-list ({allowed}); "
        "the job's operators add registries with --allowed-registry"
    )


def _file_problem(ref: FileRef, policy: ReachPolicy) -> str | None:
    if policy.file_roots is None:
        return None
    real = Path(os.path.realpath(ref.path))
    if not any(real == root or root in real.parents for root in policy.file_roots):
        roots = ", ".join(str(root) for root in policy.file_roots)
        return (
            f"spec.generator: {ref.text!r} is outside the job's generator directories ({roots}); "
            "use an oci:// reference or a file in those directories"
        )
    try:
        info = real.stat()
    except OSError:
        return None  # loading reports the precise error (no such file ...)
    if not stat.S_ISREG(info.st_mode):
        return f"spec.generator: {ref.text!r} is not a regular file"
    return None
