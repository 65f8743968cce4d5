"""A deliberately hostile generator component in Python, for the sandbox tests only.

The config text picks the behaviour. Where the sandbox must deny something, success
returns a "LEAK" dashboard so a leaky sandbox fails the test.
"""

import json
import os
import socket
import time

import wit_world
from componentize_py_types import Err


def leak(what: str) -> str:
    return json.dumps({"title": f"LEAK {what}"})


class WitWorld(wit_world.WitWorld):
    def generate(self, config: str) -> str:
        mode, _, arg = config.strip().partition(" ")
        if mode == "readfile":
            try:
                with open(arg) as handle:
                    return leak(handle.read(20))
            except OSError as error:
                raise Err(f"denied: {error}") from None
        if mode == "env":
            if os.environ:
                return leak(f"{len(os.environ)} env vars")
            raise Err("denied: no environment")
        if mode == "socket":
            host, _, port = arg.partition(":")
            try:
                connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                connection.connect((host.encode(), int(port)))  # bytes: no idna codec needed
                connection.send(b"hello")
            except Exception as error:
                raise Err(f"denied: {error}") from None
            return leak("opened a socket")
        if mode == "loop":
            while True:
                pass
        if mode == "alloc":
            keep = []
            while True:
                keep.append(bytearray(1 << 20))
        if mode == "random":
            import random

            return json.dumps(
                {
                    "title": "determinism",
                    "set": list({str(i) for i in range(50)}),
                    "random": random.random(),
                    "time": time.time(),
                }
            )
        if mode == "ok":
            return json.dumps({"title": "ok", "config": arg})
        raise Err(f"unknown mode {mode!r}")
