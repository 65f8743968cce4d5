"""A `wasi:cli/run` command component speaking contract v1 over stdin/stdout (tests only)."""

import json
import sys

from wit_world import exports


class Run(exports.Run):
    def run(self) -> None:
        config = sys.stdin.read().strip()
        if not config:
            print("config: app_name is required", file=sys.stderr)
            raise SystemExit(1)
        if config == "flood":
            while True:
                sys.stdout.write("x" * 65536)
        sys.stdout.write(json.dumps({"title": f"command {config}"}))
        sys.stdout.flush()
