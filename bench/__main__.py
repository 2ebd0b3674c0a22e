"""``python -m bench`` (``make bench``): every benchmark in turn, each with its own baseline.

Each module prints its figures and their ratios to a baseline measured in the same run;
nothing here asserts. Run one alone with ``python -m bench.<name> --help``.
"""

from __future__ import annotations

import importlib
import sys

MODULES = ("write", "replay", "integrity", "api")


def main() -> None:
    for name in MODULES:
        print(f"\n== bench.{name} ==", flush=True)
        module = importlib.import_module(f"bench.{name}")
        sys.argv = [f"bench.{name}"]
        module.main()


if __name__ == "__main__":
    main()
