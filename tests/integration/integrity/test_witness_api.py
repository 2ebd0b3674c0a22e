"""The witness on the inspector's side, fed by the ledger's HTTP API (``--from-api``): it accepts
the log as it grows and refuses it once the operator rewrites history, even re-hashed throughout."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
import uvicorn
from support.county import HANDLER, START, command
from support.tamper import Clock, Operator, build_county, flip

from api.app import create_app
from ledger.application import Ledger
from ledger.bootstrap import Services
from ledger.integrity.keys import create_key
from ledger.tokens import TokenStore
from schemas.common import Actor

XINFANG = str(Path(sys.executable).with_name("xinfang"))


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    key = tmp_path / "ledger.key"
    create_key(key)
    monkeypatch.setenv("XINFANG_KEY_FILE", str(key))
    build_county(url)
    with TokenStore(url) as store:
        token = store.create(Actor(id="inspector-1", unit="county", role="inspector"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ledger = Ledger(url, clock=Clock(days=401))
    server = uvicorn.Server(uvicorn.Config(create_app(Services(ledger)), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "API server did not start"
        time.sleep(0.05)
    try:
        yield url, f"http://127.0.0.1:{port}", token
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        ledger.close()


def witness(state: Path, api: str, token: str) -> tuple[int, dict[str, object]]:
    done = subprocess.run([XINFANG, "--json", "witness", "--state", str(state), "--from-api", api],
                          env={**os.environ, "XINFANG_TOKEN": token, "XINFANG_KEY_FILE": "/nonexistent/key"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout, done.stderr
    return done.returncode, msgspec.json.decode(done.stdout)


def test_the_witness_follows_the_api_and_refuses_a_rewritten_history(served: tuple[str, str, str],
                                                                     tmp_path: Path) -> None:
    url, api, token = served
    state = tmp_path / "inspector"
    code, first = witness(state, api + "/api", token)
    assert code == 0 and first["accepted"] and first["first"] and first["tree_size"] == 22
    assert (state / "verifier-key").read_text().startswith("xinfang-ledger/ledger+")

    writer = Ledger(url, clock=Clock(days=402))
    writer.execute(command("RecordInvestigation", START + timedelta(days=10), case="2021-000003"), HANDLER)
    writer.close()
    code, grown = witness(state, api, token)
    assert code == 0 and grown["accepted"] and (grown["previous_size"], grown["tree_size"]) == (22, 23)

    with Operator(url) as operator:
        operator.rewrite_from(9, flip(operator.event(9)[3], b"town-a", b"town-b"))
    code, refused = witness(state, api, token)
    assert code == 1 and not refused["accepted"]
    assert refused["tree_size"] == 23 and "两个不同的根" in str(refused["message"])
    assert Path(str(refused["evidence"])).exists()

    writer = Ledger(url, clock=Clock(days=403))
    writer.execute(command("RecordInvestigation", START + timedelta(days=11), case="2021-000003"), HANDLER)
    writer.close()
    code, refused = witness(state, api, token)
    assert code == 1 and refused["tree_size"] == 24 and "不是已接受检查点" in str(refused["message"])
    assert sorted(p.name for p in (state / "checkpoints").glob("*.note")) == [f"{22:020d}.note", f"{23:020d}.note"]


def test_a_wrong_token_is_a_clear_error(served: tuple[str, str, str], tmp_path: Path) -> None:
    _, api, _ = served
    done = subprocess.run([XINFANG, "witness", "--state", str(tmp_path / "w"), "--from-api", api, "--token", "nope"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 6 and "401" in done.stderr
