"""Demo ledgers of a given size for the benchmarks, built once into ``var/bench/`` and reused.

``xinfang demo --cases N --seed 1`` writes 示范县's year through the real command path; a 50,000-case
ledger takes minutes, so each size is built the first time it is asked for and kept (delete the
folder to rebuild). A lock file keeps two benchmark runs from building the same one at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

FOLDER = Path("var/bench")


def demo_ledger(cases: int) -> tuple[str, dict[str, str]]:
    """The URL of the ``cases``-case demo ledger and the environment its commands need (its key file)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = (FOLDER / f"demo-{cases}.sqlite3").resolve()
    env = {**os.environ, "XINFANG_DATABASE_URL": f"sqlite:///{path}",
           "XINFANG_KEY_FILE": str(path.with_suffix(".key")), "XINFANG_OPERATOR": "bench"}
    with (FOLDER / f"demo-{cases}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            print(f"building the {cases}-case demo ledger once into {path} …", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, "-m", "ledger.cli", "demo", "--cases", str(cases), "--seed", "1"],
                           env=env, check=True, stdout=subprocess.DEVNULL)
            subprocess.run([sys.executable, "-m", "ledger.cli", "rebuild"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
    return env["XINFANG_DATABASE_URL"], env


def token(env: dict[str, str], role: str, unit: str) -> str:
    """A fresh token for ``role`` at ``unit``, issued by the local operator."""
    done = subprocess.run([sys.executable, "-m", "ledger.cli", "--json", "token", "create", "--role", role, "--unit",
                           unit, "--actor", f"bench-{role}-{unit}", "--label", "bench"],
                          env=env, check=True, capture_output=True)
    return str(json.loads(done.stdout)["token"])
