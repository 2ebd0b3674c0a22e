"""Throw-away rule plugins for tests: a module with the given attributes, registered under a name."""

from __future__ import annotations

import types
from typing import Any


def plugin(name: str, version: str | None = "1.0", **attributes: Any) -> tuple[str, types.ModuleType]:
    """``(name, module)`` for :class:`ledger.rules.RuleSet`; hook functions must carry ``@hookimpl``."""
    module = types.ModuleType(f"xinfang_{name}_test")
    if version is not None:
        module.__version__ = version  # type: ignore[attr-defined]
    for key, value in attributes.items():
        setattr(module, key, value)
    return name, module
