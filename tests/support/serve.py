"""The real ``xinfang serve`` process on loopback, and the CLI beside it, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, tmp: Path, url: str | None = None, workers: int = 1) -> None:
        self.url = url or f"sqlite:///{tmp}/ledger.sqlite3"
        self.workers = workers
        self.env = {**os.environ, "XINFANG_DATABASE_URL": self.url, "XINFANG_KEY_FILE": str(tmp / "ledger.key")}
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = (tmp / "serve.log").open("wb")
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """The command line as the server's own operator (who issues the tokens)."""
        done = subprocess.run([sys.executable, "-m", "ledger.cli", "--operator", "ops-1", *args], env=self.env,
                              capture_output=True, timeout=60, check=True)
        return done.stdout.decode()

    def token(self, role: str, unit: str, actor: str) -> str:
        out = self.cli("--json", "token", "create", "--role", role, "--unit", unit, "--actor", actor)
        return str(httpx.Response(200, content=out).json()["token"])

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "serve", "--host", HOST, "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/problems", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("xinfang serve did not come up within 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
