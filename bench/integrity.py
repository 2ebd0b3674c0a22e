"""Integrity benchmark: full verification speed, and inclusion-proof latency at 10 million leaves.

    python -m bench.integrity                          # 1,000,000 events + a 10M-leaf tree
    python -m bench.integrity --events 200000 --leaves 1000000
    python -m bench.integrity --db postgresql://postgres@127.0.0.1:5432/xinfang_bench --events 200000

**Verification.** A large ledger is built once and reused (``var/bench/integrity-<events>-<seed>
.sqlite3``): the replay benchmark's simulated county (:func:`bench.replay.build`) saved straight
through the ledger's recorder in chunks of 5,000, so every leaf and tree node is real. Then
``ledger.integrity.verify.verify`` runs over all of it (re-hashing every payload, leaf and node,
checking versions, prev chains and recorded times), best of ``--repeat`` runs, wall clock and
CPU time (both threads).

**Inclusion proofs at 10M leaves.** Only the tree matters for a proof, so a synthetic tree of
``--leaves`` leaves is written straight into a SQLite ledger file
(``var/bench/proofs-<leaves>.sqlite3``): every perfect-subtree node (about 2 × 10M rows), and leaf
rows for the sampled positions and the last one. ``Proofs.inclusion(seq, size)`` then runs
through the real recorder (``select_leaves``, one ``get_nodes`` query, the path and the root)
for random ``seq``; each proof is checked once with ``merkle.verify_inclusion`` outside the
timing. Printed: mean, median, p99 in milliseconds; also the consistency proof.

DESIGN.md budgets: verification ≥ 200,000 events/s; inclusion proof < 1 ms at 10 million leaves.
No assertions: figures only.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import statistics
import sys
import time
from hashlib import sha256
from pathlib import Path

from ledger.application import Ledger
from ledger import merkle
from ledger.integrity.proofs import Proofs
from ledger.integrity.verify import reopen_url, verify

CHUNK_BITS = 16


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verification(url: str, events: int, seed: int, repeat: int) -> None:
    from bench.replay import build

    ledger = build(url, events, seed)
    size = ledger.recorder.tree_size()
    print(f"完整校验：{url}，{size:,} 条事件（机器负载 {os.getloadavg()[0]:.1f}，{os.cpu_count()} 核）")
    for label, reopen in (("单进程（读取线程 + 校验线程）", None), ("两个进程（各校验一半）", reopen_url(url))):
        best_wall = best_cpu = float("inf")
        for _ in range(repeat):
            wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
            report = verify(ledger.recorder, reopen=reopen)
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu + _children_cpu() - children
            if not report.ok:
                print(f"校验失败：{report.failure}", file=sys.stderr)
                return
            best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        idle = f"（两核空闲时约 {2 * size / best_cpu:,.0f} 条/秒）" if reopen is not None else ""
        print(f"  {label}：墙钟 {best_wall:.2f} 秒，{size / best_wall:,.0f} 条/秒；CPU 合计 {best_cpu:.2f} 秒，"
              f"{size / best_cpu:,.0f} 条/CPU 秒{idle}")
    ledger.close()
    print("  预算（DESIGN.md）：完整校验 ≥ 200,000 条/秒")


def _leaf(seq: int) -> bytes:
    return b'{"bench":true,"seq":%d}' % seq


def build_tree(path: Path, leaves: int, samples: list[int]) -> None:
    """Every perfect-subtree node of a ``leaves``-leaf tree, written in chunks of 2**CHUNK_BITS leaves."""
    url = f"sqlite:///{path}"
    Ledger(url).close()  # the ledger's tables, created by its own recorder
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    tops = merkle.CompactRange()
    chunk = 1 << CHUNK_BITS
    wanted = sorted(set(samples) | {leaves - 1})
    with db:
        db.executemany(
            "INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?)",
            [(s, f"{s:032x}", 1, _leaf(s), merkle.leaf_hash(_leaf(s))) for s in wanted],
        )
    for start in range(0, leaves, chunk):
        end = min(leaves, start + chunk)
        level = [sha256(b"\x00" + _leaf(s)).digest() for s in range(start, end)]
        rows = []
        height = 0
        while level:
            base = start >> height
            rows += [(height, base + i, h) for i, h in enumerate(level)]
            if len(level) == 1 and end - start == chunk:
                break
            it = iter(level)
            level = [sha256(b"\x01" + a + b).digest() for a, b in zip(it, it)]
            height += 1
        if end - start == chunk:
            rows += [(CHUNK_BITS + lvl, idx, h) for lvl, idx, h in tops.append(rows[-1][2])[1:]]
        with db:
            db.executemany("INSERT INTO ledger_nodes VALUES (?, ?, ?)", rows)
        done = end
        print(f"\r建立 {leaves:,} 叶的树：{done:,}", end="", file=sys.stderr, flush=True)
    db.close()
    print(f"\r建立 {leaves:,} 叶的树：{time.perf_counter() - started:.0f} 秒" + " " * 20, file=sys.stderr)


def proofs(leaves: int, count: int, seed: int) -> None:
    rng = random.Random(seed)
    samples = [rng.randrange(leaves) for _ in range(count)]
    path = Path(f"var/bench/proofs-{leaves}.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        build_tree(path, leaves, samples)
    ledger = Ledger(f"sqlite:///{path}")
    service = Proofs(ledger.recorder)
    if service.tree_size() != leaves:
        print(f"{path} 的树大小不是 {leaves}：请删除后重建", file=sys.stderr)
        return
    root = service.root(leaves)
    for seq in samples[:20]:  # correctness, outside the timing
        proof = service.inclusion(seq, leaves)
        audit = [bytes.fromhex(h) for h in proof.inclusion_path]
        merkle.verify_inclusion(seq, leaves, bytes.fromhex(proof.leaf_hash), audit, root)
    for seq in samples[:50]:
        service.inclusion(seq, leaves)  # warm the page cache and the connection
    timings = []
    for seq in samples:
        started = time.perf_counter()
        service.inclusion(seq, leaves)
        timings.append(time.perf_counter() - started)
    consistency = []
    for seq in samples[:200]:
        started = time.perf_counter()
        service.consistency(seq + 1, leaves)
        consistency.append(time.perf_counter() - started)
    ledger.close()
    timings.sort()
    consistency.sort()
    ms = 1000
    print(f"包含证明：{leaves:,} 叶的树（{path}），{count:,} 个随机序号，经真实记录器")
    print(f"  平均 {statistics.fmean(timings) * ms:.3f} 毫秒，中位 {timings[len(timings) // 2] * ms:.3f} 毫秒，"
          f"p99 {timings[int(len(timings) * 0.99)] * ms:.3f} 毫秒   预算 < 1 毫秒")
    print(f"一致性证明（到 {leaves:,}）：中位 {consistency[len(consistency) // 2] * ms:.3f} 毫秒，"
          f"p99 {consistency[int(len(consistency) * 0.99)] * ms:.3f} 毫秒")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="校验基准的账本事件数")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default=None, help="校验基准的数据库；默认 var/bench/integrity-<events>-<seed>.sqlite3")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--leaves", type=int, default=10_000_000, help="包含证明基准的树大小")
    parser.add_argument("--proofs", type=int, default=2000, help="计时的包含证明个数")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--skip-proofs", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_verify:
        url = args.db or f"sqlite:///var/bench/integrity-{args.events}-{args.seed}.sqlite3"
        if url.startswith("sqlite:///"):
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        verification(url, args.events, args.seed, args.repeat)
    if not args.skip_proofs:
        proofs(args.leaves, args.proofs, args.seed)


if __name__ == "__main__":
    main()
