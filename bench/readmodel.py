"""API workers over the read model: start-up time and memory, case search and the overdue board, at two sizes.

``python -m bench.readmodel [--sizes 2000 50000] [--seconds 4] [--connections 8] [--runs 3]``

For each demo ledger size (built once by :mod:`bench.ledgers`), starts the real ``xinfang serve``
(one uvicorn worker) several times and measures:

- **start-up**: seconds from launching the process to its first answer, and to its first answer
  of a case search (the worker holds no fold of the log: both should not grow with the ledger);
- **memory**: the worker's resident set (VmRSS) after serving the searches;
- **search and board**: requests/s, p50 and p99 of ``GET /api/cases?limit=50`` as a township
  handler and as an inspector (whole ledger), and of ``GET /api/overdue`` — beside a bare
  Litestar GET on loopback measured in the same run (:mod:`bench.api`).

The client shares the machine's cores with the server, so absolute figures understate the server;
compare the ratios. Figures only: no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.api import HOST, bare_app, drive, free_port, request_bytes, wait_up
from bench.ledgers import demo_ledger, token

__all__ = ["bare_app"]  # uvicorn imports the baseline from bench.api


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_worker(env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], float]:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--host", HOST, "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_up(port, "/problems")
    return process, time.perf_counter() - started


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def first_search(port: int, bearer: str, started: float) -> float:
    import socket

    with socket.create_connection((HOST, port), timeout=60) as s:
        s.sendall(request_bytes("GET", "/api/cases?limit=50", {"Authorization": f"Bearer {bearer}",
                                                              "Connection": "close"}))
        while s.recv(65536):
            pass
    return time.perf_counter() - started


def measure(cases: int, args: argparse.Namespace) -> dict[str, object]:
    url, env = demo_ledger(cases)
    handler, inspector = token(env, "handler", "town-07"), token(env, "inspector", "county")
    scenarios = {
        "search (township handler)": (handler, "/api/cases?limit=50"),
        "search (inspector, all)": (inspector, "/api/cases?limit=50"),
        "search, overdue filter": (inspector, "/api/cases?limit=50&overdue=true"),
        "overdue board": (inspector, "/api/overdue?limit=200"),
    }
    startups, first_answers, memory = [], [], []
    figures: dict[str, tuple[float, float, float, dict[int, int]]] = {}
    for run in range(args.runs):
        port = free_port()
        launched = time.perf_counter()
        process, startup = start_worker(env, port)
        startups.append(startup)
        first_answers.append(first_search(port, inspector, launched))
        if run == args.runs - 1:  # the last worker also serves the measured load
            for name, (bearer, path) in scenarios.items():
                figures[name] = asyncio.run(drive(
                    port, lambda i, p=path, b=bearer: request_bytes("GET", p, {"Authorization": f"Bearer {b}"}),
                    args.seconds, args.connections))
        memory.append(resident_mib(process.pid))
        stop(process)
    return {"cases": cases, "startup": startups, "first": first_answers, "memory": memory, "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 50000], help="demo ledger sizes (cases)")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per scenario")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--runs", type=int, default=3, help="worker starts per size")
    args = parser.parse_args()

    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.api:bare_app", "--host", HOST, "--port",
                             str(bare_port), "--log-level", "warning", "--no-access-log"],
                            env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(bare_port, "/bare")
        results = [measure(cases, args) for cases in args.sizes]
        baseline = asyncio.run(drive(bare_port, lambda i: request_bytes("GET", "/bare", {}), args.seconds,
                                     args.connections))
    finally:
        stop(bare)
    print(f"API worker over the read model: SQLite demo ledgers, one uvicorn worker, {args.connections} keep-alive "
          f"connections on loopback (the client shares the {os.cpu_count()} CPUs), {args.runs} starts per size")
    print(f"{'cases':>7} {'start-up s (min/med)':>22} {'first search s (min/med)':>26} {'RSS MiB (min/med)':>19}")
    for r in results:
        print(f"{r['cases']:>7} {min(r['startup']):10.2f} / {statistics.median(r['startup']):.2f}"  # type: ignore[arg-type]
              f"{min(r['first']):14.2f} / {statistics.median(r['first']):.2f}"  # type: ignore[arg-type]
              f"{min(r['memory']):12.0f} / {statistics.median(r['memory']):.0f}")  # type: ignore[arg-type]
    print(f"\n{'scenario':30} {'cases':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99 vs bare':>12}  statuses")
    print(f"{'bare Litestar GET':30} {'—':>7} {baseline[0]:8.0f} {baseline[1]:8.2f} {baseline[2]:8.2f} {'1.0×':>12}")
    for r in results:
        for name, (rate, p50, p99, counts) in r["figures"].items():  # type: ignore[attr-defined]
            print(f"{name:30} {r['cases']:>7} {rate:8.0f} {p50:8.2f} {p99:8.2f} {p99 / baseline[2]:11.1f}×  {counts}")


if __name__ == "__main__":
    main()
