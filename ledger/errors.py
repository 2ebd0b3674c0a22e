"""The ledger's small error hierarchy.

Every error carries a Chinese message a clerk can act on and a stable English
``code`` for machines. Infrastructure errors are translated into these at the
boundary, so callers (CLI, HTTP) never see a driver's exception.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Base: ``message`` for people (Chinese), ``code`` for machines."""

    code = "ledger_error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class ConfigError(LedgerError):
    code = "config_error"


class InvalidInput(LedgerError):
    """Malformed or ill-typed input: stopped before it reaches the domain."""

    code = "invalid_input"


class NotFound(LedgerError):
    """Does not exist — or exists but the caller may not know it: the two answers are the same."""

    code = "not_found"


class Forbidden(LedgerError):
    """The caller's role or unit may not do this (what they asked about may still be unknown to them)."""

    code = "forbidden"


class Refused(LedgerError):
    """The domain refuses the command: an illegal move or a broken rule."""

    code = "refused"


class Conflict(LedgerError):
    """Decided on a stale version, or lost a race: retry after reloading."""

    code = "conflict"


class IntegrityFailure(LedgerError):
    """The stored log does not verify."""

    code = "integrity_failure"


class PluginFailure(LedgerError):
    """A rule plugin raised or answered wrongly; it is named in the message."""

    code = "plugin_failure"
