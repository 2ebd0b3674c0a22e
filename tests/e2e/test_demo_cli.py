"""`xinfang demo` as a user runs it: a real process, then `xinfang export`; one seed, one ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CASES = 2000
"""The size the README's `make run` builds."""


def xinfang(*args: str, cwd: Path, hash_seed: int = 0) -> subprocess.CompletedProcess[bytes]:
    """The real CLI in its own process; ``hash_seed`` varies set and dict-of-str ordering between runs."""
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "XINFANG_OPERATOR": "ops-1"}
    env.pop("XINFANG_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args], cwd=cwd, env=env, capture_output=True, check=True, timeout=300
    )


def demo_export(tmp_path: Path, name: str, seed: int, hash_seed: int) -> bytes:
    db = f"sqlite:///{tmp_path / name}.sqlite3"
    built = xinfang("--db", db, "--json", "demo", "--cases", str(CASES), "--seed", str(seed), cwd=tmp_path,
                    hash_seed=hash_seed)
    summary = json.loads(built.stdout)
    assert summary["refused"] == 0 and summary["cases"] == CASES
    out = tmp_path / f"{name}.jsonl"
    xinfang("--db", db, "export", "--out", str(out), cwd=tmp_path)
    exported = out.read_bytes()
    assert exported.count(b"\n") == summary["events"]
    return exported


def test_the_same_seed_builds_a_byte_identical_ledger_and_another_seed_does_not(tmp_path: Path) -> None:
    first = demo_export(tmp_path, "a", seed=1, hash_seed=1)
    again = demo_export(tmp_path, "b", seed=1, hash_seed=2)
    other = demo_export(tmp_path, "c", seed=2, hash_seed=1)
    assert first == again
    assert first != other
