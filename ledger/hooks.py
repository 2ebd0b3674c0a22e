"""Hook specifications for rule plugins (pluggy project ``xinfang``).

Every hook is prefixed ``xinfang_``. Plugins implement them with ``@hookimpl``;
the built-in national baseline (plugin ``national``) is registered ``trylast`` so
a county's plugin overrides it. Plugins only read and derive; they never write
events. Only :class:`ledger.rules.RuleSet` calls these hooks.
"""

from __future__ import annotations

import pluggy

from schemas.rules import TimeLimit

PROJECT = "xinfang"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def xinfang_time_limits() -> list[TimeLimit]:
    """Time limits this plugin defines or overrides.

    Returns a list of :class:`schemas.rules.TimeLimit`. When several plugins define
    the same ``step``, the first answer wins: local plugins are called before the
    national baseline, so they override it step by step.

    Example::

        @hookimpl
        def xinfang_time_limits():
            return [TimeLimit(step="decide", label="出具处理意见", days=45,
                              day_type="natural", basis="本县规定", starts="accepted_on",
                              stops=("decided_on",), extendable=True)]
    """
