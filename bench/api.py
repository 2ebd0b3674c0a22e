"""HTTP API throughput and latency, against a bare Litestar endpoint measured in the same run.

``python -m bench.api [--seconds 4] [--connections 8]``

Starts two uvicorn servers on loopback — a bare Litestar app (one GET, one 1 KB msgspec POST)
and ``xinfang serve`` over a fresh SQLite ledger — and drives each with the same small asyncio
keep-alive client. Prints requests/s, p50 and p99 for a command (POST, one event written) and a
case read (GET), and their ratios to the bare GET/POST. Figures only: no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
from litestar import Litestar, get, post
from litestar.params import JSONBody

HOST = "127.0.0.1"
CHINA = timezone(timedelta(hours=8))


# ── the bare baseline ────────────────────────────────────────────────────────


class Payload(msgspec.Struct):
    id: str
    note: str
    tags: list[str]


@get("/bare", sync_to_thread=False)
def bare_get() -> dict[str, str]:
    return {"number": "2021-000001", "stage": "办理中"}


@post("/bare", sync_to_thread=False)
def bare_post(data: JSONBody[Payload]) -> Payload:
    return data


bare_app = Litestar(route_handlers=[bare_get, bare_post], openapi_config=None, logging_config=None)


# ── a tiny keep-alive HTTP/1.1 client ────────────────────────────────────────

Request = Callable[[int], bytes]


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def connection(port: int, make: Request, stop: float, latencies: list[float], statuses: list[int],
                     counter: list[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < stop:
            counter[0] += 1
            payload = make(counter[0])
            started = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses.append(status)
    finally:
        writer.close()


async def drive(port: int, make: Request, seconds: float, connections: int) -> tuple[float, float, float, dict[int, int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    counter = [0]
    warm = time.perf_counter() + min(1.0, seconds / 4)
    await asyncio.gather(*(connection(port, make, warm, [], [], counter) for _ in range(connections)))
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(*(connection(port, make, stop, latencies, statuses, counter) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")
    counts: dict[int, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return len(latencies) / elapsed, statistics.median(ordered) * 1000, p99 * 1000, counts


# ── servers ──────────────────────────────────────────────────────────────────


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_up(port: int, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(request_bytes("GET", path, {"Connection": "close"}))
                if s.recv(64).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def prepare_ledger(url: str, cases: int) -> tuple[str, list[str]]:
    """Units, ``cases`` accepted cases (so investigations can be recorded), and a handler token."""
    from ledger.application import Ledger
    from ledger.tokens import TokenStore
    from schemas.commands import COMMANDS_BY_NAME as C
    from schemas.common import Actor

    admin = Actor(id="admin", unit="county", role="admin")
    start = datetime(2021, 3, 1, 9, tzinfo=CHINA)
    ledger = Ledger(url)
    commands = [
        C["RegisterUnit"](command_id="u1", occurred_at=start, code="county", name="县", kind="县"),
        C["RegisterUnit"](command_id="u2", occurred_at=start, code="town-a", name="甲镇", kind="乡镇", parent="county"),
    ]
    numbers = [f"B-{i}" for i in range(cases)]
    for n in numbers:
        commands += [
            C["RegisterPetition"](command_id=f"r-{n}", occurred_at=start, number=n, channel="来访", subject="基准",
                                  home_township="town-a"),
            C["ForwardCase"](command_id=f"f-{n}", occurred_at=start, case=n, to_unit="town-a"),
            C["AcceptCase"](command_id=f"a-{n}", occurred_at=start + timedelta(days=1), case=n),
        ]
    for outcome in ledger.execute_many(commands, admin):
        if isinstance(outcome, Exception):
            raise SystemExit(f"setup failed: {outcome}")
    ledger.close()
    with TokenStore(url) as store:
        token = store.create(Actor(id="bench-handler", unit="town-a", role="handler"))
    return token, numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per scenario")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--cases", type=int, default=200, help="cases in the benchmark ledger")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="xinfang-bench-"))
    url = f"sqlite:///{tmp}/ledger.sqlite3"
    token, numbers = prepare_ledger(url, args.cases)
    env = {**os.environ, "XINFANG_DATABASE_URL": url, "XINFANG_KEY_FILE": str(tmp / "ledger.key")}
    bare_port, api_port = free_port(), free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    servers = [
        subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.api:bare_app", "--host", HOST, "--port",
                          str(bare_port), "--log-level", "warning", "--no-access-log"], env=env, **quiet),  # type: ignore[call-overload]
        subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--host", HOST, "--port", str(api_port)],
                         env=env, **quiet),  # type: ignore[call-overload]
    ]
    try:
        wait_up(bare_port, "/bare")
        wait_up(api_port, "/problems")
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        note = "x" * 900
        run = datetime.now(CHINA).strftime("%H%M%S")

        def bare_read(i: int) -> bytes:
            return request_bytes("GET", "/bare", {})

        def bare_write(i: int) -> bytes:
            body = msgspec.json.encode(Payload(id=f"c-{i}", note=note, tags=["a", "b"]))
            return request_bytes("POST", "/bare", {"Content-Type": "application/json"}, body)

        def case_read(i: int) -> bytes:
            return request_bytes("GET", f"/api/cases/{numbers[i % len(numbers)]}", auth)

        def command(i: int) -> bytes:
            number = numbers[i % len(numbers)]
            body = json.dumps({"type": "RecordInvestigation", "command_id": f"bench-{run}-{i}",
                               "occurred_at": datetime.now(CHINA).isoformat(), "case": number,
                               "note": note}).encode()
            return request_bytes("POST", f"/api/cases/{number}/commands", auth, body)

        scenarios = [("bare GET", bare_port, bare_read), ("bare POST 1 KB", bare_port, bare_write),
                     ("case read  GET /api/cases/{n}", api_port, case_read),
                     ("command    POST /api/cases/{n}/commands", api_port, command)]
        results = {}
        for name, port, make in scenarios:
            results[name] = asyncio.run(drive(port, make, args.seconds, args.connections))
        print(f"HTTP API on loopback: {args.connections} keep-alive connections, {args.seconds:.0f} s each, "
              f"SQLite, one uvicorn worker, {os.cpu_count()} CPUs")
        print(f"{'scenario':44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        for name, (rate, p50, p99, counts) in results.items():
            print(f"{name:44} {rate:9.0f} {p50:8.2f} {p99:8.2f}  {counts}")
        read, write = results["case read  GET /api/cases/{n}"], results["command    POST /api/cases/{n}/commands"]
        bare_r, bare_w = results["bare GET"], results["bare POST 1 KB"]
        print(f"case read vs bare GET:  throughput {read[0] / bare_r[0]:.2f}×, p99 {read[2] / bare_r[2]:.1f}×")
        print(f"command vs bare POST:   throughput {write[0] / bare_w[0]:.2f}×, p99 {write[2] / bare_w[2]:.1f}×")
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
