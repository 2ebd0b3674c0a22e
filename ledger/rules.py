"""The rules host: the only code that calls pluggy.

A :class:`RuleSet` discovers plugins through the ``xinfang.plugins`` entry-point
group (the national baseline is one of them), calls their hooks with each failure
isolated and named, and carries the rule-set fingerprint that every derived figure
cites.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import date
from functools import cached_property
from typing import Any

import msgspec
import pluggy

from ledger import hooks
from ledger.calendar import WorkingCalendar
from ledger.clocks import case_clocks, due_date
from ledger.domain.case import Case
from ledger.errors import PluginFailure
from schemas.rules import Clock, TimeLimit

ENTRY_POINT_GROUP = "xinfang.plugins"


class PluginInfo(msgspec.Struct, frozen=True):
    """What the fingerprint covers for one plugin."""

    name: str
    version: str
    hooks: list[str]
    config: dict[str, Any] = {}


class RuleSet:
    """The active plugins and what they answer, cached: rules do not change during a run."""

    def __init__(self, plugins: Iterable[tuple[str, object]] | None = None, *, blocked: Iterable[str] = ()) -> None:
        self._pm = pluggy.PluginManager(hooks.PROJECT)
        self._pm.add_hookspecs(hooks)
        for name in blocked:
            self._pm.set_blocked(name)
        if plugins is None:
            self._pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        else:
            for name, plugin in plugins:
                if not self._pm.is_blocked(name):
                    self._pm.register(plugin, name=name)
        self.calendar = WorkingCalendar()

    @property
    def plugins(self) -> list[PluginInfo]:
        result = []
        for name, plugin in sorted(self._pm.list_name_plugin()):
            version = getattr(plugin, "__version__", None) or self._distribution_version(name)
            implemented = sorted(h.name for h in self._pm.get_hookcallers(plugin) or ())
            result.append(PluginInfo(name=name, version=str(version), hooks=implemented))
        return result

    def _distribution_version(self, name: str) -> str:
        for plugin_name, dist in self._pm.list_plugin_distinfo():
            if self._pm.get_name(plugin_name) == name:
                return str(dist.version)
        return "0"

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over (name, version, config) of every active plugin, in name order."""
        payload = msgspec.json.encode([[p.name, p.version, p.config] for p in self.plugins], order="sorted")
        return hashlib.sha256(payload).hexdigest()

    def _call_each(self, hook_name: str, check: Callable[[Any], bool], **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation, most specific first; name the plugin that fails."""
        caller = getattr(self._pm.hook, hook_name)
        answers = []
        for impl in reversed(caller.get_hookimpls()):
            try:
                answer = impl.function(**{k: kwargs[k] for k in impl.argnames})
            except Exception as exc:
                raise PluginFailure(
                    f"规则插件「{impl.plugin_name}」在 {hook_name} 中出错：{exc!r}",
                    code="plugin_raised", plugin=impl.plugin_name,
                ) from exc
            if answer is None:
                continue
            if not check(answer):
                raise PluginFailure(
                    f"规则插件「{impl.plugin_name}」的 {hook_name} 返回了错误的类型：{type(answer).__name__}",
                    code="plugin_bad_answer", plugin=impl.plugin_name,
                )
            answers.append((impl.plugin_name, answer))
        return answers

    @cached_property
    def time_limits(self) -> dict[str, TimeLimit]:
        """Time limits by step; a local plugin's step overrides the national one."""
        limits: dict[str, TimeLimit] = {}
        answers = self._call_each(
            "xinfang_time_limits",
            lambda a: isinstance(a, list) and all(isinstance(x, TimeLimit) for x in a),
        )
        for _, answer in answers:
            for limit in answer:
                limits.setdefault(limit.step, limit)
        return limits

    def due(self, step: str, start: date) -> date:
        return due_date(self.time_limits[step], start, self.calendar).due

    def clocks(self, case: Case, today: date) -> list[Clock]:
        return case_clocks(case, self.time_limits.values(), self.calendar, today)

