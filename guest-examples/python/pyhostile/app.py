"""A Python guest that misbehaves on purpose (see wit/world.wit)."""

import os
import socket

import wit_world
from componentize_py_types import Err


class WitWorld(wit_world.WitWorld):
    def read_file(self, path: str) -> str:
        try:
            with open(path) as f:
                return f.read()
        except OSError as error:
            raise Err(f"{type(error).__name__}: {error}")

    def environment(self) -> list[str]:
        return [f"{k}={v}" for k, v in os.environ.items()]

    def connect(self, host: str, port: int) -> str:
        try:
            with socket.create_connection((host, port), timeout=2):
                return "connected"
        except Exception as error:  # the sandbox's refusal, whatever form it takes
            raise Err(f"{type(error).__name__}: {error}")

    def spin(self) -> int:
        n = 0
        while True:
            n += 1

    def allocate(self, mebibytes: int) -> int:
        chunks = [bytearray(1024 * 1024) for _ in range(mebibytes)]
        return len(chunks)
