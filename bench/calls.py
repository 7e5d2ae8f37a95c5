#!/usr/bin/env python3
"""Per-call A/B of MCP servers over stdio: the measurements behind BENCHMARKS.md's
step figures for the call path (the harness, `moat-bench`, compares moat with
the native baseline; this compares builds of moat with each other, and with it).

  python3 bench/calls.py seq ROUNDS CALLS "CMD" "CMD" ...
      Starts every server, then in each round makes CALLS sequential
      `bench.add` calls to each in turn; prints each server's p50 and p90,
      and its CPU time (user + system) per call.
  python3 bench/calls.py pipe RUNS CALLS "CMD" "CMD" ...
      In each run starts each server in turn and writes CALLS `bench.add` calls
      at once; prints the median time to read every answer.
  python3 bench/calls.py window RUNS CALLS "CMD" "CMD" ...
      Like pipe, with at most 64 calls in flight (the harness's window); prints
      the median wall time and the server's CPU time (user + system) per call.

Each CMD serves the `bench` component (for moat: `serve -c CONFIG` with
`[components.bench]`), or is the native baseline. Servers' stderr is discarded.
"""

import json
import os
import statistics
import subprocess
import sys
import time

INITIALIZE = {
    "protocolVersion": "2025-06-18",
    "capabilities": {},
    "clientInfo": {"name": "calls.py", "version": "1"},
}
ADD = {"name": "bench.add", "arguments": {"a": 40, "b": 2}}


def line(message):
    return (json.dumps({"jsonrpc": "2.0", **message}) + "\n").encode()


def start(command):
    server = subprocess.Popen(
        command.split(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    server.stdin.write(line({"id": 0, "method": "initialize", "params": INITIALIZE}))
    server.stdin.flush()
    server.stdout.readline()
    server.stdin.write(line({"method": "notifications/initialized"}))
    server.stdin.flush()
    return server


def cpu_seconds(pid):
    """User plus system time of process `pid` so far, from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sequential(rounds, calls, commands):
    servers = [start(command) for command in commands]
    times = [[] for _ in servers]
    cpus = [0.0 for _ in servers]
    request = 1
    for _ in range(rounds):
        for index, (server, taken) in enumerate(zip(servers, times)):
            used = cpu_seconds(server.pid)
            for _ in range(calls):
                began = time.perf_counter()
                server.stdin.write(line({"id": request, "method": "tools/call", "params": ADD}))
                server.stdin.flush()
                answer = server.stdout.readline()
                taken.append(time.perf_counter() - began)
                if b'"isError":false' not in answer:
                    sys.exit(f"call failed: {answer[:200]!r}")
                request += 1
            cpus[index] += cpu_seconds(server.pid) - used
    for server in servers:
        server.stdin.close()
        server.wait()
    for command, taken, cpu in zip(commands, times, cpus):
        p50 = statistics.median(taken) * 1e6
        p90 = statistics.quantiles(taken, n=10)[-1] * 1e6
        print(f"p50 {p50:7.1f} µs  p90 {p90:7.1f} µs  cpu {cpu / len(taken) * 1e6:6.1f} µs/call  {command}")


def pipelined(runs, calls, commands):
    batch = b"".join(line({"id": i + 1, "method": "tools/call", "params": ADD}) for i in range(calls))
    times = [[] for _ in commands]
    for _ in range(runs):
        for command, taken in zip(commands, times):
            server = start(command)
            began = time.perf_counter()
            server.stdin.write(batch)
            server.stdin.close()
            answers = server.stdout.read()
            taken.append(time.perf_counter() - began)
            server.wait()
            if answers.count(b'"isError":false') != calls:
                sys.exit(f"{command}: not every call succeeded")
    for command, taken in zip(commands, times):
        print(f"median {statistics.median(taken) * 1e3:7.1f} ms for {calls} calls  {command}")


IN_FLIGHT = 64


def windowed(runs, calls, commands):
    lines = [line({"id": i + 1, "method": "tools/call", "params": ADD}) for i in range(calls)]
    walls = [[] for _ in commands]
    cpus = [[] for _ in commands]
    for _ in range(runs):
        for command, wall, cpu in zip(commands, walls, cpus):
            server = start(command)
            stdin, stdout = server.stdin.fileno(), server.stdout.fileno()
            used = cpu_seconds(server.pid)
            began = time.perf_counter()
            sent = answered = succeeded = 0
            partial = b""
            while answered < calls:
                if sent < calls and sent - answered < IN_FLIGHT:
                    upto = min(calls, answered + IN_FLIGHT)
                    os.write(stdin, b"".join(lines[sent:upto]))
                    sent = upto
                chunk = os.read(stdout, 1 << 16)
                if not chunk:
                    sys.exit(f"{command}: closed its stdout")
                complete, _, partial = (partial + chunk).rpartition(b"\n")
                if complete:
                    answered += complete.count(b"\n") + 1
                    succeeded += complete.count(b'"isError":false')
            wall.append((time.perf_counter() - began) / calls)
            cpu.append((cpu_seconds(server.pid) - used) / calls)
            server.stdin.close()
            server.wait()
            if succeeded != calls:
                sys.exit(f"{command}: not every call succeeded")
    for command, wall, cpu in zip(commands, walls, cpus):
        print(
            f"wall {statistics.median(wall) * 1e6:6.1f} µs/call  "
            f"cpu {statistics.median(cpu) * 1e6:6.1f} µs/call  {command}"
        )


if __name__ == "__main__":
    modes = {"seq": sequential, "pipe": pipelined, "window": windowed}
    if len(sys.argv) < 5 or sys.argv[1] not in modes:
        sys.exit(__doc__)
    mode, first, second, commands = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    modes[mode](first, second, commands)
