"""The example generators a benchmark measures: built from source, or given by the test suite.

Each benchmark builds the examples itself so its figures are for the current source.
The test suite runs every benchmark in its quick mode as a smoke test; it has just
built the same examples, so it passes their directory in `$DAWG_BENCH_DIST` instead
of paying for five more builds (a componentize-py build alone takes ~30 s).
"""

from __future__ import annotations

import os
from pathlib import Path

from generators.build import EXAMPLES, build_examples

ENV_DIST = "DAWG_BENCH_DIST"


def example_dist(scratch: Path) -> dict[str, Path]:
    """`{example name: .wasm path}`, from `$DAWG_BENCH_DIST` when set, else built into `scratch`."""
    given = os.environ.get(ENV_DIST)
    if not given:
        return build_examples(scratch / "dist")
    dist = {example.name: Path(given) / f"{example.name}.wasm" for example in EXAMPLES}
    missing = [str(path) for path in dist.values() if not path.is_file()]
    if missing:
        raise SystemExit(f"${ENV_DIST} lacks {', '.join(missing)}")
    return dist
