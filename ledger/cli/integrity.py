"""Tamper evidence on the command line: signed checkpoints, proofs, the full verifier, the witness.

``xinfang checkpoint``      the C2SP signed note of the current tree (kept in ``ledger_checkpoints``)
``xinfang checkpoint --verifier-key``  the key that checks it, in signed-note verifier format
``xinfang checkpoint --list``          the checkpoints issued so far
``xinfang proof --seq N [--size S]``   inclusion proof (JSON)
``xinfang proof --from M [--to N]``    consistency proof (JSON)
``xinfang proof --case NUMBER [--size S]``  every event of a case with its inclusion proof (JSON)
``xinfang verify [--against FILE ...] [--verifier-key KEY] [--json]``
``xinfang witness --state DIR [--db URL | --from-api URL]``

Exit codes: 0 intact / accepted; 1 integrity failure (damage found, checkpoint refused);
2 usage (e.g. no key for the checkpoints given); 4 unknown seq or case.
Proofs are printed in the one shape of :mod:`schemas.proofs`, the same as the HTTP API's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from ledger.cli import Context, handles_errors
from ledger.cli.output import EXIT_INTEGRITY, console, print_json, progress, table
from ledger.access import READ_ALL, require_role
from ledger.codec import decode_envelope
from ledger.errors import ConfigError, InvalidInput, NotFound


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` after the subcommand too (``xinfang verify --json``), same as the global one."""

    def set_json(click_ctx: click.Context, _: click.Parameter, value: bool) -> None:
        if value:
            click_ctx.find_object(Context).as_json = True

    return click.option("--json", "json_flag", is_flag=True, expose_value=False, callback=set_json,
                        help="以 JSON 输出（同全局 --json）")(func)


def _checkpoints(ctx: Context):  # type: ignore[no-untyped-def]
    from ledger.integrity.checkpoints import Checkpoints

    return Checkpoints(ctx.ledger.recorder, ctx.ledger.url)


@click.command("checkpoint")
@json_option
@click.option("--verifier-key", "show_key", is_flag=True, help="打印验证公钥（签名注记格式：名称+密钥编号+公钥）")
@click.option("--list", "show_list", is_flag=True, help="列出已签发并保存的检查点")
@click.pass_obj
@handles_errors
def checkpoint(ctx: Context, show_key: bool, show_list: bool) -> None:
    """签发当前树的检查点（C2SP 签名注记），并保存在账本的检查点表中。"""
    checkpoints = _checkpoints(ctx)
    if show_key:
        if ctx.as_json:
            print_json(checkpoints.verifier_key_answer())
        else:
            sys.stdout.write(checkpoints.verifier_key() + "\n")
        return
    if show_list:
        rows = checkpoints.list()
        if ctx.as_json:
            print_json(rows)
        else:
            table(f"已签发的检查点（{checkpoints.origin()}）", ["编号", "树大小", "根哈希", "签发时间（UTC）"],
                  [(r.id, r.tree_size, r.root[:16] + "…", r.issued_at) for r in rows])
        return
    if ctx.as_json:
        print_json(checkpoints.answer())
    else:
        sys.stdout.write(checkpoints.issue())


@click.command("proof")
@json_option
@click.option("--seq", type=int, default=None, help="事件序号：打印它的包含证明")
@click.option("--size", type=int, default=None, help="树大小（默认当前大小）")
@click.option("--from", "old", type=int, default=None, help="旧树大小：打印到 --to 的一致性证明")
@click.option("--to", "new", type=int, default=None, help="新树大小（默认当前大小）")
@click.option("--case", "case", default=None, help="案件编号：打印该案件全部事件的包含证明")
@click.pass_obj
@handles_errors
def proof(ctx: Context, seq: int | None, size: int | None, old: int | None, new: int | None, case: str | None) -> None:
    """打印 RFC 9162 证明（JSON）：--seq 包含证明，--from 一致性证明，--case 整件案件。"""
    from ledger.integrity.proofs import Proofs

    chosen = [name for name, value in (("--seq", seq), ("--from", old), ("--case", case)) if value is not None]
    if len(chosen) != 1:
        raise InvalidInput("请给出 --seq、--from、--case 三者之一", code="proof_usage")
    if new is not None and old is None:
        raise InvalidInput("--to 只能与 --from 一起使用", code="proof_usage")
    if size is not None and old is not None:
        raise InvalidInput("一致性证明用 --from/--to，不用 --size", code="proof_usage")
    proofs = Proofs(ctx.ledger.recorder)
    if seq is not None:
        rows = ctx.ledger.recorder.select_events_by_seq(seq, 1)
        if not rows or rows[0].seq != seq or not ctx.services.access.event_visible(
                ctx.viewer(), decode_envelope(rows[0].state)):
            raise NotFound(f"没有序号为 {seq} 的事件", code="unknown_seq")
        print_json(proofs.inclusion(seq, size))
    elif old is not None:
        print_json(proofs.consistency(old, new))
    else:
        target = _case_or_aggregate(str(case))
        viewer = ctx.viewer()
        if isinstance(target, UUID):
            require_role(viewer.actor, READ_ALL, "按聚合编号取证明")
        else:
            ctx.services.access.require_case(viewer, target)
        print_json(proofs.case_proof(target, size))


def _case_or_aggregate(text: str) -> str | UUID:
    """``--case`` takes a case number or, for any other aggregate, its id (a UUID)."""
    try:
        return UUID(text)
    except ValueError:
        return text


def _key_text(value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value)
    if "+" not in value or path.is_file():
        if not path.is_file():
            raise ConfigError(f"找不到验证公钥文件 {value}", code="bad_verifier_key")
        return path.read_text(encoding="utf-8").strip()
    return value.strip()


def _note_files(paths: tuple[Path, ...]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in paths:
        files = sorted(path.glob("*.note")) if path.is_dir() else [path]
        found += [(str(f), f.read_text(encoding="utf-8")) for f in files]
    return found


@click.command("verify")
@json_option
@click.option("--against", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="与这些检查点文件（或其所在目录中的 *.note）核对；可重复")
@click.option("--verifier-key", "key", default=None, help="验证公钥（文本或文件）；默认由本机签名密钥推出")
@click.pass_obj
@handles_errors
def verify(ctx: Context, against: tuple[Path, ...], key: str | None) -> None:
    """完整校验：重算每个事件内容哈希、叶子、树节点和根，核对版本、prev 链、记录时间和检查点。"""
    from ledger.integrity.keys import key_path
    from ledger.integrity.verify import reopen_url
    from ledger.integrity.verify import verify as run

    ledger = ctx.ledger
    verifier = _key_text(key)
    if verifier is None and key_path(ledger.url).exists():
        verifier = _checkpoints(ctx).verifier_key()
    given = _note_files(against)
    if given and verifier is None:
        raise ConfigError("核对检查点需要验证公钥：请用 --verifier-key 给出（文本或文件）", code="missing_verifier_key")
    report = run(ledger.recorder, checkpoints=given, verifier_key=verifier, reopen=reopen_url(ledger.url),
                 progress=lambda items, total: progress(items, total, "校验中"))
    if ctx.as_json:
        print_json(report)
    elif report.ok:
        checked = len(report.checkpoints)
        signed = "（签名已验证）" if verifier is not None else "（无验证公钥，未验签）"
        console.print(f"[bold green]账本完整[/]：{report.tree_size} 条事件，根 {report.root}")
        console.print(f"检查点：{checked} 个一致{signed if checked else ''}；用时 {report.seconds} 秒"
                      f"（{report.events_per_second:,.0f} 条/秒）")
    else:
        failure = report.failure
        assert failure is not None
        where = f"序号 {failure.seq}" if failure.seq is not None else "检查点"
        whose = "，".join(x for x in (
            f"案件 {failure.case}" if failure.case else (failure.aggregate or ""),
            f"版本 {failure.version}" if failure.version is not None else "",
        ) if x)
        console.print(f"[bold red]完整性校验失败[/]：{where}{'（' + whose + '）' if whose else ''}："
                      f"{failure.description}（{failure.kind}）")
        console.print(failure.message)
        console.print(f"此前 {report.verified} 条事件校验无误。")
    if not report.ok:
        sys.exit(EXIT_INTEGRITY)


@click.command("witness")
@json_option
@click.option("--state", "state", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="见证目录：保存已接受的检查点和验证公钥")
@click.option("--from-api", "api", default=None, help="从账本 HTTP 接口获取（如 http://127.0.0.1:8000）；默认读 --db 数据库")
@click.option("--token", envvar="XINFANG_TOKEN", default=None, help="接口令牌（Bearer）；或环境变量 XINFANG_TOKEN")
@click.option("--verifier-key", "key", default=None, help="验证公钥（文本或文件）；首次见证时不给则从日志获取并保存")
@click.pass_obj
@handles_errors
def witness(ctx: Context, state: Path, api: str | None, token: str | None, key: str | None) -> None:
    """监察人员的见证：只接受能由一致性证明连到已接受检查点的新检查点。"""
    from ledger.integrity.witness import ApiSource, DatabaseSource, Source
    from ledger.integrity.witness import witness as run

    source: Source = ApiSource(api, token) if api else DatabaseSource(ctx.ledger)
    result = run(state, source, _key_text(key))
    if ctx.as_json:
        print_json(result)
    elif result.accepted:
        console.print(f"[bold green]已接受[/]：{result.message}")
        console.print(f"{result.origin}：{result.tree_size} 条事件，根 {result.root}")
    else:
        console.print(f"[bold red]拒绝检查点[/]：{result.message}")
        if result.evidence:
            console.print(f"被拒绝的检查点已作为证据保存：{result.evidence}")
    if not result.accepted:
        sys.exit(EXIT_INTEGRITY)


COMMANDS = (checkpoint, proof, verify, witness)
