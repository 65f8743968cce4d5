"""Hostile input keeps the job's memory bounded: measured in a child process.

Each attack runs in a fresh Python child under `RLIMIT_AS` (a runaway allocation
fails there instead of swapping the machine), and its peak RSS (`VmHWM`, the child's
own: see tests/peak_rss.py for why not `wait4`'s `ru_maxrss`) is compared with a child
that does the same imports and no attack, side by side in one run. The attacks send 512 MiB; the bound allowed
over the baseline is 48 MiB (the 4 MiB answer cap, read buffers, the blob's stream).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peak_rss import CHILD_PEAK
from tests.registry_faults import WASM, Answer, FaultServer, body, fault_servers, manifest_for, sha256

ROOT = Path(__file__).resolve().parent.parent
ADDRESS_SPACE = 2 << 30
ALLOWED_GROWTH_KIB = 48 * 1024
FLOOD = 512 << 20

PRELUDE = (
    CHILD_PEAK
    + f"""
import atexit
atexit.register(lambda: print("peak_kib", peak_kib()))
import resource
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))
import sys
from pathlib import Path
from dawg_provider.errors import DawgError
from dawg_provider.sources.fetch import Fetcher
from dawg_provider.sources.registry import RegistryOptions
from dawg_provider.cluster.sources import load_documents
"""
)

FETCH = """
fetcher = Fetcher(Path(sys.argv[2]), RegistryOptions(allowed_hosts=frozenset()))
try:
    fetcher.fetch(f"oci://{sys.argv[1]}/team/gen:v1")
except DawgError as error:
    print("refused:", error)
"""

YAML = """
try:
    load_documents(Path(sys.argv[1]))
except DawgError as error:
    print("refused:", error)
"""


def peak_kib(code: str, *args: str) -> tuple[int, str]:
    """Run `code` (which sets the address-space limit first) in a child; (its peak RSS in KiB, stdout)."""
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert child.stdout is not None
    out = child.stdout.read().decode()
    assert child.wait() == 0, out[-2000:]
    (peak,) = [int(line.split()[1]) for line in out.splitlines() if line.startswith("peak_kib ")]
    return peak, out


def flood() -> Answer:
    return Answer(chunks=lambda: iter([b" " * (1 << 20)] * (FLOOD >> 20)))


@pytest.fixture
def registry() -> Iterator[FaultServer]:
    with fault_servers(1) as (server,):
        yield server


def test_a_huge_manifest_and_a_huge_blob_keep_the_fetch_bounded(
    registry: FaultServer, tmp_path: Path
) -> None:
    baseline, out = peak_kib(PRELUDE + FETCH, registry.host, str(tmp_path / "a"))
    assert "no tag" in out  # the registry had nothing: the same code path up to the answer

    registry.routes["/v2/team/gen/manifests/v1"] = flood()
    manifest, out = peak_kib(PRELUDE + FETCH, registry.host, str(tmp_path / "b"))
    assert "larger than 4 MiB" in out

    registry.routes["/v2/team/gen/manifests/v1"] = body(manifest_for(WASM))
    registry.routes[f"/v2/team/gen/blobs/{sha256(WASM)}"] = flood()
    blob, out = peak_kib(PRELUDE + FETCH, registry.host, str(tmp_path / "c"))
    assert "larger than its manifest says" in out
    assert not list((tmp_path / "c").rglob("*.part"))

    print(f"peak RSS KiB: baseline {baseline}, huge manifest {manifest}, huge blob {blob}")
    assert manifest - baseline < ALLOWED_GROWTH_KIB
    assert blob - baseline < ALLOWED_GROWTH_KIB


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)


def test_a_yaml_alias_bomb_keeps_the_manifest_reader_bounded(tmp_path: Path) -> None:
    plain = tmp_path / "plain.yaml"
    plain.write_text("a: [x, x, x]\n")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)  # 10^9 scalars once expanded
    baseline, out = peak_kib(PRELUDE + YAML, str(plain))
    assert "refused" not in out
    peak, out = peak_kib(PRELUDE + YAML, str(bomb))
    assert "expands to more than" in out and "bomb.yaml" in out
    print(f"peak RSS KiB: baseline {baseline}, alias bomb {peak}")
    assert peak - baseline < ALLOWED_GROWTH_KIB
