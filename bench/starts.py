"""Interleaved start-up A/B: spawn to the `tools/list` answer, per command.

    python3 bench/starts.py N "target/release/moat serve -c A.toml" "OTHER COMMAND" ...

Starts each command in turn, N rounds (A, B, ..., A, B, ...), so that every
command sees the same machine state; each server is sent `initialize`,
`notifications/initialized` and `tools/list` over stdio, then its stdin is
closed and it is waited for before the next start. Prints the median per
command. BENCHMARKS.md's step-by-step start-up figures come from this; the
full comparison against the native baseline is `make bench`.
"""

import json
import shlex
import statistics
import subprocess
import sys
import time

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "starts", "version": "1"}},
}
THEN = [
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


def lines(*messages):
    return "".join(json.dumps(m) + "\n" for m in messages).encode()


def start(command):
    """Seconds from spawn to the tools/list answer."""
    began = time.perf_counter()
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    server.stdin.write(lines(INITIALIZE))
    server.stdin.flush()
    server.stdout.readline()
    server.stdin.write(lines(*THEN))
    server.stdin.flush()
    answer = json.loads(server.stdout.readline())
    elapsed = time.perf_counter() - began
    server.stdin.close()
    server.wait()
    if not answer.get("result", {}).get("tools"):
        sys.exit(f"{shlex.join(command)} listed no tools: {answer}")
    return elapsed


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    commands = [shlex.split(c) for c in sys.argv[2:]]
    times = [[] for _ in commands]
    for _ in range(rounds):
        for i, command in enumerate(commands):
            times[i].append(start(command))
    for command, samples in zip(commands, times):
        print(f"{statistics.median(samples) * 1000:7.2f} ms  {shlex.join(command)}")


if __name__ == "__main__":
    main()
