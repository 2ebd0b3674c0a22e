"""The rules host: the only code that calls pluggy.

A :class:`RuleSet` discovers plugins through the ``xinfang.plugins`` entry-point group
(the national baseline is one of them), skips blocked ones, validates each plugin's
configuration against its own ``Config`` Struct, calls their hooks with each failure
isolated and named, and carries the rule-set fingerprint that every derived figure
cites.

The rules file (``--rules FILE`` or ``XINFANG_RULES``) is TOML::

    blocked = ["qinjiang"]              # plugins not to load, by entry-point name

    [plugins.national]                  # one table per plugin, checked against its Config
    collective_threshold = 5

    [plugins.zhijiang.satisfaction]
    threshold = 85

    [plugins.qinjiang]                  # a local plugin: its rules apply in the units it names
    units = ["town-qj"]                 #   and below them (see ledger.scope), nowhere else
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import pluggy

from ledger import hooks
from ledger.calendar import WorkingCalendar
from ledger.canonical import canonical_json
from ledger.clocks import by_step, case_clocks, case_windows, due_date, in_force, limit_clock
from ledger.domain.case import Case
from ledger.errors import ConfigError, PluginFailure
from ledger.inputs import explain
from ledger.scope import SCOPE_KEY, Scope, Units, facts_within, within
from schemas.common import Code, Flag, IncidentKind
from schemas.events import Event
from schemas.facts import IncidentFact, PeriodFacts
from schemas.rules import AwardVerdict, Clock, Finding, HolidaySchedule, Indicator, PluginInfo, TimeLimit

ENTRY_POINT_GROUP = "xinfang.plugins"
RULES_VARIABLE = "XINFANG_RULES"
FLAGS: tuple[str, ...] = Flag.__args__  # type: ignore[attr-defined]
INCIDENT_KINDS: tuple[str, ...] = IncidentKind.__args__  # type: ignore[attr-defined]
UNIT_FIELDS = ("home_township", "township", "unit", "to_unit")
"""Event fields that place a command outside any case in a unit (for plugins limited to some units)."""


class RulesFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The rules file: blocked plugins and one configuration table per plugin."""

    blocked: list[str] = []
    plugins: dict[str, dict[str, Any]] = {}


class _Impl(NamedTuple):
    plugin: str
    function: Callable[..., Any]
    argnames: tuple[str, ...]


def load_rules_file(path: str | Path) -> RulesFile:
    """Read and check a rules file, or raise :class:`ConfigError` saying what is wrong and where."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"无法读取规则配置文件 {path}：{exc.strerror or exc}", code="rules_file_unreadable") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"规则配置文件 {path} 不是有效的 TOML：{exc}", code="bad_rules_file") from exc
    try:
        return msgspec.convert(raw, RulesFile)
    except msgspec.ValidationError as exc:
        raise ConfigError(
            f"规则配置文件 {path} 无效：{explain(exc)}（顶层只允许 blocked 和 [plugins.插件名]）",
            code="bad_rules_file",
        ) from exc


def _bad_answer(plugin: str, hook: str, detail: str) -> PluginFailure:
    return PluginFailure(
        f"规则插件「{plugin}」的 {hook} 返回了错误的类型：{detail}", code="plugin_bad_answer", plugin=plugin, hook=hook
    )


Check = Callable[[Any], str | None]
"""Says what is wrong with a hook's answer, or None when it has the right type."""


def _list_of(item: type[Any]) -> Check:
    def check(answer: Any) -> str | None:
        if not isinstance(answer, list):
            return f"{type(answer).__name__}（应为 {item.__name__} 的列表）"
        bad = next((x for x in answer if not isinstance(x, item)), None)
        return None if bad is None else f"列表中含有 {type(bad).__name__} {bad!r:.80}（应为 {item.__name__}）"

    return check


def _words_of(allowed: tuple[str, ...], what: str) -> Check:
    def check(answer: Any) -> str | None:
        if not isinstance(answer, list):
            return f"{type(answer).__name__}（应为{what}的列表）"
        bad = next((x for x in answer if x not in allowed), None)
        return None if bad is None else f"未知的{what} {bad!r:.40}（可用：{'、'.join(allowed)}）"

    return check


_flag_list = _words_of(FLAGS, "标记")
_kind_list = _words_of(INCIDENT_KINDS, "事件类别")


class BoundLimits:
    """The rule set's request windows for cases placed in one unit tree: what a case's guards ask."""

    def __init__(self, rules: RuleSet, units: Units | None) -> None:
        self.rules = rules
        self.units = units

    def window(self, step: str, case: Case) -> Clock | None:
        return self.rules.window(step, case, units=self.units)


class RuleSet:
    """The active plugins, their configuration, and what they answer.

    ``plugins`` registers the given ``(name, module)`` pairs instead of the installed
    entry points (tests); ``config`` maps a plugin's name to its configuration table.
    Everything is checked here, so a bad plugin or configuration stops a run before it
    reads or writes anything. Answers that do not depend on a case are cached: rules do
    not change during a run.
    """

    def __init__(
        self,
        plugins: Iterable[tuple[str, object]] | None = None,
        *,
        blocked: Iterable[str] = (),
        config: Mapping[str, Mapping[str, Any]] | None = None,
        source: str | None = None,
    ) -> None:
        self.source = source
        self.blocked = sorted(set(blocked))
        self._pm = pluggy.PluginManager(hooks.PROJECT)
        self._pm.add_hookspecs(hooks)
        for name in self.blocked:
            self._pm.set_blocked(name)
        self._versions: dict[str, str] = {}
        # pluggy calls the last registered first: registering in reverse name order makes local
        # plugins answer in name order, whatever order they were found or given in.
        if plugins is None:
            self._load_entry_points()
        else:
            for name, plugin in sorted(plugins, key=lambda p: p[0], reverse=True):
                if not self._pm.is_blocked(name):
                    self._register(name, plugin, None)
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self._pm.get_name(exc.plugin) or str(exc.plugin)
            raise PluginFailure(
                f"规则插件「{name}」实现了不存在的钩子：{exc}", code="plugin_invalid", plugin=name
            ) from exc
        self._scopes: dict[str, Scope] = {}
        self._configs = self._configure(config or {})
        self._impls: dict[str, list[_Impl]] = {}
        self._limits_for: dict[frozenset[str], dict[str, list[TimeLimit]]] = {}

    @classmethod
    def from_config(
        cls,
        path: str | Path | None = None,
        *,
        blocked: Iterable[str] = (),
        plugins: Iterable[tuple[str, object]] | None = None,
    ) -> RuleSet:
        """The rule set of a rules file: ``path``, else ``$XINFANG_RULES``, else the installed defaults."""
        path = path or os.environ.get(RULES_VARIABLE) or None
        if path is None:
            return cls(plugins, blocked=blocked)
        rules = load_rules_file(path)
        return cls(plugins, blocked=[*rules.blocked, *blocked], config=rules.plugins, source=str(path))

    # ── loading ──────────────────────────────────────────────────────────────

    def _load_entry_points(self) -> None:
        seen: dict[str, str] = {}
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value), reverse=True):
            if self._pm.is_blocked(ep.name):
                continue
            if ep.name in seen:
                raise ConfigError(
                    f"规则插件名「{ep.name}」被注册了两次（{seen[ep.name]} 与 {ep.value}）：请卸载其中一个",
                    code="plugin_name_clash", plugin=ep.name,
                )
            seen[ep.name] = ep.value
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginFailure(
                    f"规则插件「{ep.name}」无法加载（{ep.value}）：{exc!r}", code="plugin_load_failed", plugin=ep.name
                ) from exc
            self._register(ep.name, plugin, ep.dist.version if ep.dist is not None else None)

    def _register(self, name: str, plugin: object, dist_version: str | None) -> None:
        unmarked = sorted(
            attr for attr in dir(plugin)
            if attr.startswith("xinfang_") and callable(getattr(plugin, attr))
            and not hasattr(getattr(plugin, attr), f"{hooks.PROJECT}_impl")
        )
        if unmarked:
            raise PluginFailure(
                f"规则插件「{name}」的 {'、'.join(unmarked)} 没有加 @hookimpl 标记，不会被调用",
                code="plugin_invalid", plugin=name,
            )
        try:
            self._pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginFailure(f"规则插件「{name}」无法注册：{exc}", code="plugin_invalid", plugin=name) from exc
        self._versions[name] = str(getattr(plugin, "__version__", None) or dist_version or "0")

    def _active(self) -> dict[str, object]:
        """Registered plugins by name (pluggy lists blocked names too, with no plugin)."""
        return {name: plugin for name, plugin in self._pm.list_name_plugin() if plugin is not None}

    def _configure(self, tables: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        active = self._active()
        for name in sorted(tables):
            if name not in active and not self._pm.is_blocked(name):
                raise ConfigError(
                    f"规则配置中的插件「{name}」未安装；已安装：{'、'.join(sorted(active)) or '无'}",
                    code="unknown_plugin", plugin=name,
                )
        configs: dict[str, Any] = {}
        for name, plugin in sorted(active.items()):
            schema = getattr(plugin, "Config", None)
            table = dict(tables.get(name) or {})
            self._scopes[name] = self._scope(name, plugin, table.pop(SCOPE_KEY, None))
            if schema is None:
                if table:
                    raise ConfigError(f"规则插件「{name}」不接受配置，请删除 [plugins.{name}]",
                                      code="bad_plugin_config", plugin=name)
                configs[name] = None
                continue
            try:
                configs[name] = msgspec.convert(table, schema)
            except msgspec.ValidationError as exc:
                raise ConfigError(f"规则插件「{name}」的配置无效：{explain(exc)}",
                                  code="bad_plugin_config", plugin=name) from exc
        return configs

    @staticmethod
    def _scope(name: str, plugin: object, named: Any) -> Scope:
        """The units named in the plugin's table; a ``LOCAL`` plugin without any applies nowhere."""
        if named is None:
            return frozenset() if getattr(plugin, "LOCAL", False) else None
        try:
            return frozenset(msgspec.convert(named, list[Code]))
        except msgspec.ValidationError as exc:
            raise ConfigError(f"规则插件「{name}」的适用单位（{SCOPE_KEY}）无效：应为单位编码的列表，{explain(exc)}",
                              code="bad_plugin_config", plugin=name) from exc

    # ── what is active ───────────────────────────────────────────────────────

    @cached_property
    def plugins(self) -> list[PluginInfo]:
        """Active plugins in name order, with version, hooks and effective configuration."""
        result = []
        for name, plugin in sorted(self._active().items()):
            implemented = sorted(h.name for h in self._pm.get_hookcallers(plugin) or ())
            config = self._configs.get(name)
            shown = msgspec.to_builtins(config, order="sorted") if config is not None else {}
            scope = self._scopes[name]
            if scope is not None:
                shown[SCOPE_KEY] = sorted(scope)
            result.append(PluginInfo(name=name, version=self._versions[name], hooks=implemented, config=shown))
        return result

    def scope_of(self, name: str) -> Scope:
        """The units plugin ``name``'s rules apply to, and below them (None: the whole ledger)."""
        return self._scopes.get(name)

    def _applying(self, unit: str | None, units: Units | None) -> frozenset[str]:
        """The plugins whose rules apply to ``unit`` (every unlimited one, whatever the unit)."""
        return frozenset(name for name, scope in self._scopes.items() if within(unit, scope, units))

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over (name, version, config) of every active plugin, in name order, and every time
        limit in force with the days its versions apply from: a rule that changes, or changes its
        date, changes the fingerprint."""
        limits = {step: msgspec.to_builtins(versions) for step, versions in sorted(self.time_limits.items())}
        payload = canonical_json(
            {"plugins": [[p.name, p.version, p.config] for p in self.plugins], "time_limits": limits}
        )
        return hashlib.sha256(payload).hexdigest()

    def config_of(self, name: str) -> Any:
        """The validated configuration of plugin ``name`` (None if it has no ``Config``)."""
        return self._configs.get(name)

    # ── calling hooks ────────────────────────────────────────────────────────

    def _implementations(self, hook_name: str) -> list[_Impl]:
        impls = self._impls.get(hook_name)
        if impls is None:
            caller = getattr(self._pm.hook, hook_name)
            impls = [_Impl(i.plugin_name, i.function, tuple(i.argnames)) for i in reversed(caller.get_hookimpls())]
            self._impls[hook_name] = impls
        return impls

    def _call_each(self, hook_name: str, check: Check, applying: frozenset[str] | None = None,
                   **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation (of the ``applying`` plugins, when given), most specific first;
        name the plugin that fails. A plugin limited to some units sees the period's facts of
        those units only."""
        answers = []
        for impl in self._implementations(hook_name):
            scope = self._scopes.get(impl.plugin)
            if scope == frozenset() or (applying is not None and impl.plugin not in applying):
                continue  # a local plugin with no units named applies nowhere
            arguments = {k: (self._configs[impl.plugin] if k == "config" else kwargs[k]) for k in impl.argnames}
            if scope is not None and "facts" in arguments:
                arguments["facts"] = facts_within(arguments["facts"], scope)
            try:
                answer = impl.function(**arguments)
            except Exception as exc:
                raise PluginFailure(
                    f"规则插件「{impl.plugin}」在 {hook_name} 中出错：{exc!r}",
                    code="plugin_raised", plugin=impl.plugin, hook=hook_name,
                ) from exc
            if answer is None:
                continue
            problem = check(answer)
            if problem is not None:
                raise _bad_answer(impl.plugin, hook_name, problem)
            answers.append((impl.plugin, answer))
        return answers

    def _collect(self, hook_name: str, item: type[Any], **kwargs: Any) -> list[tuple[str, Any]]:
        """Every plugin's list of ``item`` Structs, validated field by field (constraints included)."""
        answers = self._call_each(hook_name, _list_of(item), None, **kwargs)
        for plugin, answer in answers:
            try:
                msgspec.convert(msgspec.to_builtins(answer), list[item])
            except msgspec.ValidationError as exc:
                raise _bad_answer(plugin, hook_name, f"{item.__name__} {explain(exc)}") from exc
        return [(plugin, x) for plugin, answer in answers for x in answer]

    # ── clocks and calendar ──────────────────────────────────────────────────

    @cached_property
    def time_limits(self) -> dict[str, list[TimeLimit]]:
        """Each step's versions, most specific first: a local plugin's (newest first) before the
        national baseline's, so a local plugin overrides a step from the day its version applies."""
        return self._limits_of(frozenset(self._scopes))

    @cached_property
    def _limit_answers(self) -> dict[str, dict[str, list[TimeLimit]]]:
        """step → plugin → its versions (newest first), plugins most specific first."""
        answers: dict[str, dict[str, list[TimeLimit]]] = {}
        for plugin, limit in self._collect("xinfang_time_limits", TimeLimit):
            answers.setdefault(limit.step, {}).setdefault(plugin, []).append(limit)
        for step, by_plugin in answers.items():
            for plugin, versions in by_plugin.items():
                days = [v.effective_from for v in versions]
                if len(set(days)) != len(days):
                    raise _bad_answer(plugin, "xinfang_time_limits", f"期限「{step}」有两个版本自同一日起施行")
                by_plugin[plugin] = by_step(versions)[step]
        return answers

    def _limits_of(self, applying: frozenset[str]) -> dict[str, list[TimeLimit]]:
        """The time limits of the ``applying`` plugins, as :attr:`time_limits` gives them."""
        limits = self._limits_for.get(applying)
        if limits is None:
            limits = {}
            for step, by_plugin in self._limit_answers.items():
                versions = [v for plugin, found in by_plugin.items() if plugin in applying for v in found]
                if versions:
                    limits[step] = versions
            self._limits_for[applying] = limits
        return limits

    def _case_limits(self, case: Case, units: Units | None) -> dict[str, list[TimeLimit]]:
        return self._limits_of(self._applying(case.current_unit or case.registered_by, units))

    @cached_property
    def calendar(self) -> WorkingCalendar:
        """The working-day calendar: the built-in schedules plus those the plugins load."""
        calendar = WorkingCalendar()
        loaded: set[int] = set()
        for plugin, schedule in self._collect("xinfang_calendar", HolidaySchedule):
            if schedule.year in loaded:
                continue
            try:
                calendar = calendar.with_schedule(schedule.holidays, schedule.workdays, [schedule.year])
            except ValueError as exc:
                raise _bad_answer(plugin, "xinfang_calendar", f"{schedule.year} 年放假安排有误：{exc}") from exc
            loaded.add(schedule.year)
        return calendar

    def _step_versions(self, step: str) -> list[TimeLimit]:
        versions = self.time_limits.get(step)
        if not versions:
            raise ConfigError(f"当前规则集没有「{step}」期限：不要屏蔽国家基线，或由本地插件提供", code="missing_time_limit")
        return versions

    def limit(self, step: str, day: date) -> TimeLimit | None:
        """The version of ``step`` in force on ``day`` (None: no version applies then)."""
        return next((v for v in self._step_versions(step) if v.effective_from is None or v.effective_from <= day), None)

    def due(self, step: str, start: date) -> date:
        """When ``step``, started on ``start``, falls due under the version in force that day."""
        limit = self.limit(step, start)
        if limit is None:
            raise ConfigError(f"{start} 施行的规则没有「{step}」期限", code="missing_time_limit")
        return due_date(limit, start, self.calendar).due

    def window(self, step: str, case: Case, today: date | None = None, *, units: Units | None = None) -> Clock | None:
        """The request window ``step`` of ``case`` under the law in force when it opened (None: not
        opened, or the law then had no such window — the 2005 《信访条例》 has no objection window)."""
        self._step_versions(step)  # a step the rule set lacks altogether is a configuration error
        found = in_force(self._case_limits(case, units).get(step, ()), case)
        if found is None:
            return None
        return limit_clock(found[0], found[1], case, self.calendar, today or found[1])

    def clocks(self, case: Case, today: date, *, units: Units | None = None) -> list[Clock]:
        """The case's clocks on ``today``, under the rules that apply where it is held (``units``:
        the unit tree, to place it below a local plugin's units)."""
        return case_clocks(case, self._case_limits(case, units), self.calendar, today)

    def windows(self, case: Case, today: date, *, units: Units | None = None) -> list[Clock]:
        return case_windows(case, self._case_limits(case, units), self.calendar, today)

    # ── per command and per case ─────────────────────────────────────────────

    def check(self, event: Event, case: Case | None, day: date, *, units: Units | None = None) -> list[str]:
        """Reasons the plugins give to refuse ``event``, each naming its plugin; empty when none.

        A plugin limited to some units checks commands about a case they hold, or naming one of
        them (属地, unit, receiving unit), only.
        """
        unit = (case.current_unit or case.registered_by) if case is not None else next(
            (getattr(event, f) for f in UNIT_FIELDS if getattr(event, f, None)), None)
        answers = self._call_each("xinfang_check_command", _list_of(str), self._applying(unit, units),
                                  event=event, case=case, day=day)
        return [f"{reason}〔规则插件 {plugin}〕" for plugin, reasons in answers for reason in reasons]

    def flags(self, case: Case, incidents: Iterable[IncidentFact] = (), *, units: Units | None = None) -> list[str]:
        """The case's stated flags followed by those the plugins that apply to it derive, without repeats."""
        answers = self._call_each("xinfang_case_flags", _flag_list,
                                  self._applying(case.current_unit or case.registered_by, units),
                                  case=case, incidents=list(incidents))
        derived = {flag for _, flags in answers for flag in flags} - set(case.flags)
        return [*case.flags, *(f for f in FLAGS if f in derived)]

    def incident_kinds(self, incident: IncidentFact) -> list[str]:
        """The incident's recorded kind followed by those the plugins derive, without repeats."""
        answers = self._call_each("xinfang_incident_kinds", _kind_list, None, incident=incident)
        derived = {kind for _, kinds in answers for kind in kinds} - {incident.kind}
        return [incident.kind, *(k for k in INCIDENT_KINDS if k in derived)]

    # ── per period ───────────────────────────────────────────────────────────

    def _in_area(self, found: list[tuple[str, Any]], facts: PeriodFacts) -> list[tuple[str, Any]]:
        """Answers about units outside their plugin's area are dropped (a plugin reports for its units only)."""
        units = {u.unit: u for u in facts.units}
        return [(p, x) for p, x in found if x.unit is None or within(x.unit, self._scopes.get(p), units)]

    def indicators(self, facts: PeriodFacts) -> list[Indicator]:
        """Every plugin's indicators; a limited plugin's whole-area figure (``unit`` None) says its ``scope``."""
        found = self._in_area(self._collect("xinfang_indicators", Indicator, facts=facts), facts)
        return sorted((msgspec.structs.replace(x, plugin=p, scope=sorted(self._scopes.get(p) or ())) for p, x in found),
                      key=lambda x: (x.key, x.unit or "", x.plugin))

    def awards(self, facts: PeriodFacts) -> list[AwardVerdict]:
        found = self._in_area(self._collect("xinfang_awards", AwardVerdict, facts=facts), facts)
        for plugin, verdict in found:
            if verdict.status != "judged" and (verdict.passed or verdict.amount):
                raise _bad_answer(plugin, "xinfang_awards",
                                  f"{verdict.unit}「{verdict.title}」为{verdict.result}，不能通过或给予奖励")
        return [msgspec.structs.replace(x, plugin=p) for p, x in found]

    def findings(self, facts: PeriodFacts) -> list[Finding]:
        found = self._in_area(self._collect("xinfang_accountability", Finding, facts=facts), facts)
        return sorted((msgspec.structs.replace(x, plugin=p) for p, x in found),
                      key=lambda x: (x.unit, x.recommendation, x.plugin, x.grounds))
