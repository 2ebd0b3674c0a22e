"""The ``xinfang`` command line: every subcommand lives in a module of this package.

Global options: ``--db URL`` (or ``XINFANG_DATABASE_URL``; default
``sqlite:///var/xinfang.sqlite3``), ``--rules FILE`` (or ``XINFANG_RULES``: the TOML
rules file configuring the rule plugins) and ``--json`` for machine-readable output.
Exit codes are listed in :mod:`ledger.cli.output`.

Whoever reads or writes the ledger's content is an actor the access policy knows, as over
HTTP: ``--token`` (or ``XINFANG_TOKEN``) acts as the token's actor; ``--operator NAME`` (or
``XINFANG_OPERATOR``) acts as the person at the server's own command line, recorded in every
event as 本机操作员 NAME. Nothing else names an actor.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
import msgspec

from ledger.access import Viewer
from ledger.application import Ledger
from ledger.bootstrap import Services, bootstrap
from ledger.cli.output import EXIT_FAILURE, errors, exit_code, print_json
from ledger.errors import InvalidInput, LedgerError
from ledger.inputs import encoding_hint
from ledger.rules import RuleSet
from schemas.common import Actor
from schemas.problems import CliError


OPERATOR_UNIT = "local"
"""The unit recorded for the local operator: the server itself, whatever the ledger's unit tree holds."""


class Context:
    """What every subcommand needs: where the ledger is, who is acting, and how to answer."""

    def __init__(self, db: str | None, as_json: bool, rules_file: str | None = None, token: str | None = None,
                 operator: str | None = None) -> None:
        self.db = db
        self.as_json = as_json
        self.rules_file = rules_file
        self.token = token
        self.operator = operator
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        """The ledger's services, built once by the composition root."""
        if self._services is None:
            self._services = bootstrap(self.db, rules_file=self.rules_file)
        return self._services

    @property
    def ledger(self) -> Ledger:
        return self.services.ledger

    @property
    def rules(self) -> RuleSet:
        return self.services.rules

    def actor(self) -> Actor:
        """Who is acting: the token's actor, or the local operator; a usage error when neither is given."""
        if self.token:
            actor = self.services.tokens.lookup(self.token)
            if actor is None:
                raise InvalidInput("令牌无效、已吊销或已过期", code="bad_token")
            return actor
        if self.operator:
            try:
                return msgspec.convert({"id": self.operator, "unit": OPERATOR_UNIT, "role": "operator"}, Actor)
            except msgspec.ValidationError as exc:
                raise InvalidInput(f"操作员名称无效（只允许字母、数字和 - _ .）：{exc}", code="bad_operator") from exc
        raise InvalidInput(
            "请说明由谁操作：--token 令牌（或环境变量 XINFANG_TOKEN），或 --operator 名称（或 XINFANG_OPERATOR，"
            "以本机操作员身份执行，记入账本）", code="no_actor")

    def viewer(self) -> Viewer:
        return self.services.viewer(self.actor())

    def close(self) -> None:
        if self._services is not None:
            self._services.close()


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
        except UnicodeDecodeError as exc:  # a file given on the command line is not UTF-8
            fail(ctx, InvalidInput(f"输入文件{encoding_hint(exc)}", code="invalid_encoding"))
        return EXIT_FAILURE

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="XINFANG_DATABASE_URL", default=None, help="数据库地址：sqlite:///文件 或 postgresql://…")
@click.option("--rules", "rules_file", envvar="XINFANG_RULES", default=None, help="规则插件配置文件（TOML）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出，供程序读取")
@click.option("--token", envvar="XINFANG_TOKEN", default=None, help="以令牌的操作人身份执行（xinfang token create 签发）")
@click.option("--operator", envvar="XINFANG_OPERATOR", default=None,
              help="以本机操作员身份执行（名称记入账本），用于没有令牌的本机运维")
@click.pass_context
def main(click_ctx: click.Context, db: str | None, rules_file: str | None, as_json: bool, token: str | None,
         operator: str | None) -> None:
    """信访事项审计账本（xinfang-ledger）。"""
    click_ctx.obj = Context(db, as_json, rules_file, token, operator)
    click_ctx.call_on_close(click_ctx.obj.close)


def _register() -> None:
    from ledger.cli import cases, integrity, people, reports, rules, schema, serve, setup, tokens

    for module in (setup, cases, schema, people, rules, tokens, serve, reports, integrity):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
