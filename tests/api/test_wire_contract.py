"""Every payload the API and the CLI emit or accept validates against the schema ``xinfang schema`` exports.

One county (:mod:`api_world`) on each engine; the HTTP API answers through ``TestClient`` and a real
``xinfang`` process reads and writes the same database. Each payload is checked two ways: against
the exported JSON Schema (``jsonschema_rs``, Draft 2020-12), and by a msgspec round trip through
its Struct that must give back exactly what was sent (no field dropped, none added). At the end,
every name of the catalogue must have been seen at least once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgspec
import pytest
from api_world import World

from schemas.catalog import CATALOG

XINFANG = str(Path(sys.executable).with_name("xinfang"))
NOW = datetime.now().astimezone().isoformat()
IDENTITY = {"name": "测试信访人", "phone": "13900000000"}


class Contract:
    """Validates payloads by catalogue name and remembers which names it has seen."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._validators = {name: jsonschema_rs.validator_for(msgspec.json.schema(kind))
                            for name, (kind, _) in CATALOG.items()}

    def accepts(self, name: str, payload: Any) -> Any:
        """A payload sent in: valid by the schema, and decoded by its Struct (defaults filled in)."""
        errors = [str(e) for e in self._validators[name].iter_errors(payload)]
        assert not errors, f"{name}: {errors[:3]}"
        decoded = msgspec.json.decode(json.dumps(payload, ensure_ascii=False).encode(), type=CATALOG[name][0])
        self.seen.add(name)
        return decoded

    def check(self, name: str, payload: Any) -> Any:
        """A payload sent out: valid by the schema, and exactly what its Struct encodes."""
        assert msgspec.to_builtins(self.accepts(name, payload)) == payload, \
            f"{name}: the Struct does not carry exactly this payload"
        return payload

    def item(self, name: str, payload: Any) -> Any:
        """One element of a list payload (``units/{code}``, ``problems/{slug}``, one demo token)."""
        self.check(name, [payload])
        return payload


@pytest.fixture
def cli(world: World, tmp_path: Path) -> Iterator[Any]:
    def run(*args: str, code: int = 0, db: str | None = None) -> str:
        env = {**os.environ, "XINFANG_KEY_FILE": str(tmp_path / "ledger.key")}
        env.pop("XINFANG_DATABASE_URL", None)
        done = subprocess.run([XINFANG, "--db", db or world.url, "--operator", "ops-1", "--json", *args], env=env,
                              cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == code, done.stderr + done.stdout
        return done.stdout

    yield run


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_every_payload_of_the_api_and_the_cli_matches_its_exported_schema(
    world: World, cli: Any, tmp_path: Path
) -> None:
    contract = Contract()
    api_payloads(world, contract)
    cli_payloads(world, cli, contract, tmp_path)
    assert contract.seen == set(CATALOG), f"never checked: {sorted(set(CATALOG) - contract.seen)}"


def api_payloads(world: World, c: Contract) -> None:
    register = c.accepts("commands", {"type": "RegisterPetition", "command_id": "w-1", "occurred_at": NOW,
                                    "channel": "来访", "subject": "合同", "home_township": "town-a",
                                    "petitioners": ["P-W"]})
    number = c.check("command-result", ok(world.post("/api/cases", register, "clerk"), 201))["key"]
    forward = c.accepts("case-commands", {"type": "ForwardCase", "command_id": "w-2", "occurred_at": NOW,
                                        "case": number, "to_unit": "town-a"})
    c.check("command-result", ok(world.post(f"/api/cases/{number}/commands", forward, "clerk"), 201))
    c.check("case-view", ok(world.get("/api/cases/A-1")))
    c.check("timeline", ok(world.get("/api/cases/A-1/timeline")))
    c.check("case-page", ok(world.get("/api/cases")))
    c.check("overdue-board", ok(world.get("/api/overdue")))
    c.check("units", ok(world.get("/api/units")))
    c.item("units", ok(world.get("/api/units/town-a")))
    c.check("officials", ok(world.get("/api/officials")))
    c.item("officials", ok(world.get("/api/officials/handler-a")))
    c.check("me", ok(world.get("/api/me", "handler-a")))
    c.check("problem-types", ok(world.get("/problems", None)))
    c.item("problem-types", ok(world.get("/problems/not-found", None)))
    c.check("problem", world.get("/api/cases/NO-SUCH").json())
    c.check("problem", world.post("/api/cases", {"type": "RegisterPetition"}, "clerk").json())

    feed = world.get("/api/feed?from_seq=0&wait=0", "inspector").text
    events = [json.loads(line[len("data: "):]) for line in feed.splitlines() if line.startswith("data: ")]
    assert events
    for event in events:
        c.check("feed-event", event)

    proof = c.check("inclusion-proof", ok(world.get("/api/integrity/inclusion?seq=3")))
    c.check("leaf", json.loads(bytes.fromhex(proof["leaf"])))
    c.check("consistency-proof", ok(world.get("/api/integrity/consistency?first=2&second=5")))
    c.check("case-proof", ok(world.get("/api/cases/A-1/proof")))

    c.accepts("identity", IDENTITY)
    stored = world.client.put("/api/cases/A-1/petitioners/P-A", json=IDENTITY, headers=world.headers("clerk"))
    c.check("identity-written", ok(stored))
    c.check("identity-answer", ok(world.get("/api/cases/A-1/petitioners/P-A?purpose=核实", "handler-a")))
    c.check("erasure-answer", ok(world.client.delete("/api/petitioners/P-A", headers=world.headers("admin"))))

    batch = b"\n".join(msgspec.json.encode(c.accepts("commands", line)) for line in (
        {"type": "AcceptCase", "command_id": "w-3", "occurred_at": NOW, "case": "A-1"},
        {"type": "AcceptCase", "command_id": "w-4", "occurred_at": NOW, "case": "no-such-case"},
    ))
    imported = world.post("/api/imports", batch, "admin", headers={"Content-Type": "application/x-ndjson"})
    assert c.check("import-report", ok(imported))["refused"]

    for name in ("board", "accountability", "indicators"):
        c.check(f"{'indicator' if name == 'indicators' else name}-report",
                ok(world.get(f"/api/reports/{name}?period=2021&cases=true")))
    c.check("award-report", ok(world.get("/api/reports/awards?period=2021", "appraiser")))
    c.accepts("appraisal-request", {"period": "2021"})
    written = world.post("/api/appraisals", {"period": "2021"}, "appraiser")
    c.check("appraisal", ok(written))
    c.check("appraisal-check", ok(world.post("/api/appraisals/check", written.content, "inspector")))


def cli_payloads(world: World, cli: Any, c: Contract, tmp_path: Path) -> None:
    def answer(name: str, *args: str, code: int = 0, db: str | None = None) -> Any:
        return c.check(name, json.loads(cli(*args, code=code, db=db)))

    answer("init", "init")
    answer("summary", "summary")
    answer("case-detail", "case", "show", "A-1")
    answer("cli-error", "case", "show", "NO-SUCH", code=4)
    answer("inclusion-proof", "proof", "--seq", "3")
    answer("consistency-proof", "proof", "--from", "2", "--to", "5")
    answer("case-proof", "proof", "--case", "A-1")
    answer("checkpoint", "checkpoint")
    answer("verifier-key", "checkpoint", "--verifier-key")
    assert answer("checkpoints", "checkpoint", "--list")
    assert answer("verify-report", "verify")["ok"]
    assert answer("witness-result", "witness", "--state", str(tmp_path / "witness"))["accepted"]
    for line in cli("export").splitlines():
        c.check("events", c.check("export-line", json.loads(line))["event"])

    identity = tmp_path / "identity.json"
    c.accepts("identity", IDENTITY)
    identity.write_text(json.dumps(IDENTITY, ensure_ascii=False), encoding="utf-8")
    answer("identity-written", "petitioner", "put", "P-B", str(identity))
    answer("identity-answer", "petitioner", "show", "P-B", "--case", "B-1", "--purpose", "核实")
    answer("erasure-answer", "petitioner", "erase", "P-B")

    batch = tmp_path / "batch.jsonl"
    line = {"type": "AcceptCase", "command_id": "w-5", "occurred_at": NOW, "case": "B-1"}
    c.accepts("commands", line)
    batch.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert answer("import-report", "apply", str(batch))["applied"] == 1

    issued = answer("issued-token", "token", "create", "--role", "clerk", "--unit", "xfj", "--label", "契约测试")
    tokens = answer("tokens", "token", "list")
    mine = next(t["id"] for t in tokens if t["label"] == "契约测试")
    assert issued["token"].startswith("xft_")
    assert answer("revoked-tokens", "token", "revoke", mine)["revoked"] == 1

    answer("plugins", "plugins")
    answer("award-report", "awards", "--period", "2021")
    answer("board-report", "report", "board", "--period", "2021")
    answer("projections", "projections")
    answer("rebuild", "rebuild")
    appraisal = tmp_path / "appraisal.json"
    answer("appraisal-written", "appraise", "--period", "2021", "--out", str(appraisal))
    c.check("appraisal", json.loads(appraisal.read_bytes()))
    assert answer("appraisal-check", "appraise", "--check", str(appraisal))["reproduced"]

    empty = f"sqlite:///{tmp_path}/demo.sqlite3"  # the demo needs an empty ledger of its own
    assert answer("demo", "demo", "--cases", "3", db=empty)["cases"] == 3

    names = json.loads(cli("schema"))
    assert list(names) == list(CATALOG)
    for name in ("events", "commands"):
        assert json.loads(cli("schema", name)) == msgspec.json.schema(CATALOG[name][0])

