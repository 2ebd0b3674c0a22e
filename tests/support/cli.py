"""The real `xinfang` process, as the end-to-end tests run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.county import OFFICIALS, UNITS

OPERATOR = ("--operator", "ops-1")
"""The person at the server's own command line, recorded as 本机操作员 ops-1."""


def run(db: str, *args: str, cwd: Path, check: bool = True, who: tuple[str, ...] = OPERATOR
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XINFANG_KEY_FILE": str(cwd / "ledger.key")}
    for variable in ("XINFANG_DATABASE_URL", "XINFANG_TOKEN", "XINFANG_OPERATOR"):
        env.pop(variable, None)
    done = subprocess.run([sys.executable, "-m", "ledger.cli", "--db", db, *who, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}: {done.stderr}\n{done.stdout}")
    return done


def jsonl(path: Path, *lines: object) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines), encoding="utf-8")
    return path


COUNTY = [
    {"type": "RegisterUnit", "command_id": f"u-{u['code']}", "occurred_at": "2021-01-04T09:00:00+08:00", **u}
    for u in UNITS
] + [
    {"type": "RegisterOfficial", "command_id": f"o-{o['code']}", "occurred_at": "2021-01-04T09:00:00+08:00", **o}
    for o in OFFICIALS
]


def size(db: str, cwd: Path) -> int:
    return int(json.loads(run(db, "--json", "summary", cwd=cwd).stdout)["events"])


def token(db: str, cwd: Path, role: str, unit: str, actor: str) -> str:
    """A token the operator issues for ``actor`` (its role and unit)."""
    created = run(db, "--json", "token", "create", "--role", role, "--unit", unit, "--actor", actor, cwd=cwd)
    return str(json.loads(created.stdout)["token"])


def build_county(db: str, cwd: Path) -> str:
    """The small test county (tests/support/county.py), written through ``xinfang apply`` by the operator."""
    run(db, "init", cwd=cwd)
    run(db, "apply", str(jsonl(cwd / "county.jsonl", *COUNTY)), cwd=cwd)
    return db
