"""The ``xinfang`` command line: every subcommand lives in a module of this package.

Global options: ``--db URL`` (or ``XINFANG_DATABASE_URL``; default
``sqlite:///var/xinfang.sqlite3``), ``--rules FILE`` (or ``XINFANG_RULES``: the TOML
rules file configuring the rule plugins) and ``--json`` for machine-readable output.
Exit codes are listed in :mod:`ledger.cli.output`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from ledger.cli.output import EXIT_FAILURE, errors, exit_code, print_json
from ledger.errors import LedgerError
from schemas.problems import CliError


class Context:
    """What every subcommand needs: where the ledger is and how to answer."""

    def __init__(self, db: str | None, as_json: bool, rules_file: str | None = None) -> None:
        self.db = db
        self.as_json = as_json
        self.rules_file = rules_file
        self._ledger: Any = None
        self._rules: Any = None

    @property
    def rules(self) -> Any:
        """The rule set of ``--rules`` (installed plugins, checked configuration)."""
        if self._rules is None:
            from ledger.rules import RuleSet

            self._rules = RuleSet.from_config(self.rules_file)
        return self._rules

    @property
    def ledger(self) -> Any:
        if self._ledger is None:
            from ledger.application import Ledger

            self._ledger = Ledger(self.db, rules=self.rules)
        return self._ledger


def fail(ctx: Context, exc: LedgerError) -> None:
    if ctx.as_json:
        print_json(CliError(error=exc.code, message=exc.message, details={k: str(v) for k, v in exc.details.items()}))
    else:
        errors.print(f"[bold red]错误[/]：{exc.message}（{exc.code}）")
    sys.exit(exit_code(exc))


def handles_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ledger errors into a Chinese message (or JSON) and the documented exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context().find_object(Context)
        try:
            return func(*args, **kwargs)
        except LedgerError as exc:
            fail(ctx, exc)
        except OSError as exc:
            fail(ctx, LedgerError(f"无法读写文件或数据库：{exc}", code="io_error"))
        return EXIT_FAILURE

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="XINFANG_DATABASE_URL", default=None, help="数据库地址：sqlite:///文件 或 postgresql://…")
@click.option("--rules", "rules_file", envvar="XINFANG_RULES", default=None, help="规则插件配置文件（TOML）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出，供程序读取")
@click.pass_context
def main(click_ctx: click.Context, db: str | None, rules_file: str | None, as_json: bool) -> None:
    """信访事项审计账本（xinfang-ledger）。"""
    click_ctx.obj = Context(db, as_json, rules_file)


def _register() -> None:
    from ledger.cli import cases, integrity, people, reports, rules, schema, serve, setup, tokens

    for module in (setup, cases, schema, people, rules, tokens, serve, reports, integrity):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
