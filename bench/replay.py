"""Replay benchmark: full replay of all projections vs a bare SELECT + msgspec decode of the same rows.

    python -m bench.replay                       # 200,000 events in var/bench/replay-200000.sqlite3
    python -m bench.replay --events 1000000      # the DESIGN.md memory figure
    python -m bench.replay --db postgresql://postgres@127.0.0.1:5432/xinfang_bench --events 200000

The ledger is built once and reused (same size, same seed → same file). It is built
cheaply: a simulated county (cases with their whole handling, disputes, incidents,
receptions, a township that back-dates its entries) saved straight through the
ledger's recorder in chunks of 5,000 events — the recorder still writes every leaf and
tree node, but the command checks are skipped, so only the events are realistic, not
the import speed.

Printed, all from the same run: the baseline (pages of ``(seq, state)`` from the join of
leaves and events, each decoded once with msgspec — the same rows replay reads), the
replay of every projection from zero in memory, the persisted rebuild (the same plus
writing the projection tables), their ratios to the baseline in wall-clock and CPU time,
the project's general read path (``iter_log`` + ``decode_envelope``) for reference, and
the peak resident memory of one full replay in a fresh process. Baseline and replay are
interleaved and each is the best of ``--repeat`` runs, so a busy neighbour on the shared
machine distorts them less.
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from ledger.application import Ledger
from ledger.codec import decode_envelope, decoder
from ledger.domain.case import CHINA
from ledger.domain.ids import aggregate_id
from ledger.log import iter_log
from ledger.projections.runner import Projector
from schemas import events as ev
from schemas.common import Actor
from schemas.events import Envelope, Event

START = datetime(2021, 1, 4, 9, 0, tzinfo=CHINA)
TOWNSHIPS = [f"town-{i:02d}" for i in range(1, 21)]
DEPARTMENTS = [f"dept-{i:02d}" for i in range(1, 11)]
BACKDATING = "town-07"
"""This township records its handling about 20 days late."""


def _units() -> Iterator[Event]:
    yield ev.UnitRegistered(code="county", name="基准县", kind="县")
    yield ev.UnitRegistered(code="xfj", name="基准县信访局", kind="部门", parent="county")
    for i, code in enumerate(TOWNSHIPS):
        yield ev.UnitRegistered(code=code, name=f"第{i + 1}镇", kind="乡镇", parent="county",
                                township_class="一类" if i % 3 == 0 else "二类")
    for i, code in enumerate(DEPARTMENTS):
        yield ev.UnitRegistered(code=code, name=f"第{i + 1}局", kind="部门", parent="county")
    for code in [*TOWNSHIPS, *DEPARTMENTS]:
        yield ev.OfficialRegistered(code=f"h-{code}", name=f"{code}承办人", unit=code, title="信访专干")
    yield ev.OfficialRegistered(code="leader-1", name="副县长", unit="county", title="副县长")


def _case_steps(number: str, rng: random.Random) -> Iterator[tuple[float, Event, str]]:
    """(days after registration, event, acting unit) for one case's life."""
    unit = rng.choice(TOWNSHIPS + DEPARTMENTS)
    yield 0, ev.PetitionRegistered(number=number, channel=rng.choice(["来访", "来信", "网上", "来电"]),
                                   subject="土地征收补偿", home_township=rng.choice(TOWNSHIPS),
                                   petitioners=[f"P-{number}"]), "xfj"
    yield 1, ev.CaseForwarded(to_unit=unit), "xfj"
    if rng.random() < 0.05:
        yield 2, ev.JurisdictionObjected(reason="不属本单位职权"), unit
        other = rng.choice(TOWNSHIPS)
        yield 4, ev.JurisdictionObjectionResolved(ruling="异议成立", to_unit=other), "xfj"
        unit = other
    if rng.random() < 0.08:
        yield 5, ev.AcceptanceRefused(reason="不属于信访事项"), unit
        yield 6, ev.CaseConcluded(), unit
        return
    accepted = 5 if rng.random() < 0.9 else 20
    yield accepted, ev.CaseAccepted(), unit
    if rng.random() < 0.1:
        yield accepted + 1, ev.LeaderAssigned(leader="leader-1"), "county"
    if rng.random() < 0.1:
        yield accepted + 2, ev.SupervisionOrdered(order=f"DB-{number}", to_unit=unit,
                                                  reply_due=date(2030, 1, 1)), "xfj"
        yield accepted + 9, ev.SupervisionAnswered(order=f"DB-{number}"), unit
    yield accepted + 10, ev.InvestigationRecorded(note="走访核实"), unit
    decided = accepted + (40 if rng.random() < 0.9 else 70)
    yield decided, ev.DecisionIssued(outcome=rng.choice(["支持", "解释说明", "不支持"])), unit
    yield decided + 2, ev.DecisionServed(), unit
    for party in ("信访部门", "责任单位"):
        if rng.random() < 0.94:
            yield decided + 5, ev.SatisfactionRated(party=party, rating=rng.choice(["满意"] * 8 + ["基本满意", "不满意"])), "xfj"
        else:
            yield decided + 35, ev.RatingExpired(party=party), "xfj"
    yield decided + 36, ev.CaseConcluded(), unit
    if rng.random() < 0.2:
        yield decided + 40, ev.FollowUpVisited(reached=rng.random() < 0.8), "xfj"
    yield decided + 45, ev.CaseArchived(), "xfj"


def _records(i: int, rng: random.Random) -> Iterator[tuple[float, Event, str]]:
    """Every tenth case brings a dispute, an incident or a reception along."""
    town = rng.choice(TOWNSHIPS)
    roll = i % 30
    if roll == 0:
        yield 0, ev.DisputeFound(dispute=f"D-{i}", township=town, subject="邻里纠纷"), town
        yield 3, ev.DisputeMediated(dispute=f"D-{i}"), town
        if rng.random() < 0.95:
            yield 10, ev.DisputeResolved(dispute=f"D-{i}"), town
    elif roll == 10:
        yield 0, ev.IncidentRecorded(incident=f"I-{i}", kind=rng.choice(["越级", "集体"]),
                                     level=rng.choice(["市", "省"]), persons=rng.randint(1, 9), township=town), "xfj"
    elif roll == 20:
        yield 0, ev.LeaderReceptionHeld(session=f"JF-{i}", leader="leader-1", unit="county", batches=3,
                                        persons=8, answered_on_spot=1, referred=2), "county"


class _Stream:
    """One case (or one record's life): its steps, consumed one at a time in recording order."""

    __slots__ = ("base", "key", "last", "steps")

    def __init__(self, key: str, base: datetime, steps: Iterator[tuple[float, Event, str]]) -> None:
        self.key = key
        self.base = base
        self.last = base
        self.steps = steps


def generate(total: int, seed: int = 1) -> Iterator[Envelope]:
    """About ``total`` envelopes in recording order (``recorded_at`` never decreases)."""
    rng = random.Random(seed)
    versions: dict[object, int] = {}
    heap: list[tuple[datetime, int, datetime, _Stream, tuple[float, Event, str]]] = []
    tick = 0

    def envelope(event: Event, unit: str, occurred: datetime, recorded: datetime, key: str) -> Envelope:
        oid = aggregate_id(event.aggregate, key)
        version = versions.get(oid, 0) + 1
        versions[oid] = version
        actor = Actor(id="clerk-1", unit=unit, role="clerk") if unit == "xfj" else Actor(
            id=f"h-{unit}", unit=unit, role="handler")
        return Envelope(originator_id=oid, originator_version=version, occurred_at=occurred, recorded_at=recorded,
                        actor=actor, event=event)

    def push(stream: _Stream) -> None:
        nonlocal tick
        step = next(stream.steps, None)
        if step is None:
            return
        offset, _, unit = step
        occurred = max(stream.base + timedelta(days=offset), stream.last)
        late = unit == BACKDATING and rng.random() < 0.3
        delay = timedelta(days=20) if late else timedelta(minutes=rng.randint(1, 90))
        tick += 1
        heapq.heappush(heap, (occurred + delay, tick, occurred, stream, step))

    for event in _units():
        yield envelope(event, "county", START - timedelta(days=30), START - timedelta(days=30), _key(event))
    planned = 100
    case_minutes = 60 * 24 * 365 / max(1, total // 11)
    i = 0
    now = START
    while heap or planned < total:
        while planned < total and (not heap or START + timedelta(minutes=i * case_minutes) <= heap[0][0]):
            i += 1
            base = START + timedelta(minutes=i * case_minutes)
            number = f"{base.year}-{i:07d}"
            push(_Stream(number, base, _case_steps(number, rng)))
            push(_Stream("", base, _records(i, rng)))
            planned += 10
        recorded, _, occurred, stream, (_, event, unit) = heapq.heappop(heap)
        now = max(now, recorded)
        stream.last = occurred
        yield envelope(event, unit, occurred, now, _key(event) if event.key_field else stream.key)
        push(stream)


def _key(event: Event) -> str:
    return str(getattr(event, event.key_field or ""))


def build(url: str, total: int, seed: int) -> Ledger:
    ledger = Ledger(url)
    existing = ledger.recorder.tree_size()
    if existing:
        return ledger
    started = time.perf_counter()
    chunk: list[Envelope] = []
    for envelope in generate(total, seed):
        chunk.append(envelope)
        if len(chunk) == 5000:
            ledger.save(*chunk)
            chunk.clear()
            print(f"\r建立基准账本：{ledger.recorder.tree_size():,} 条", end="", file=sys.stderr, flush=True)
    if chunk:
        ledger.save(*chunk)
    elapsed = time.perf_counter() - started
    size = ledger.recorder.tree_size()
    print(f"\r建立基准账本：{size:,} 条，{elapsed:.1f} 秒（{size / elapsed:,.0f} 条/秒，经记录器直接写入）", file=sys.stderr)
    return ledger


def _best(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """Best wall-clock and best CPU time of ``repeat`` runs (CPU time is what a busy machine distorts least)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return wall, cpu


def peak_rss_of_one_replay(url: str) -> float:
    """Peak resident memory (MiB) of a fresh process that replays the whole log once."""
    code = ("import resource, sys; from ledger.application import Ledger; "
            "from ledger.projections.runner import Projector; "
            f"p = Projector.of(Ledger({url!r})); s = p.replay(p.tree_size()); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return int(out.split()[-1]) / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default=None, help="数据库地址；默认 var/bench/replay-<events>-<seed>.sqlite3")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    url = args.db or f"sqlite:///var/bench/replay-{args.events}-{args.seed}.sqlite3"
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    ledger = build(url, args.events, args.seed)
    projector = Projector.of(ledger)
    size = projector.tree_size()

    def bare() -> None:
        decode = decoder.decode
        for page in projector.tables.bare_events(0, size):
            for _, data in page:
                decode(data)

    def through_iter_log() -> None:
        for row in iter_log(ledger.recorder):
            decode_envelope(row.state)

    def replay() -> None:
        projector.replay(size)

    # Interleaved, so a neighbour's burst on the shared machine hits both alike.
    baseline, in_memory = (float("inf"),) * 2, (float("inf"),) * 2
    for _ in range(args.repeat):
        baseline = tuple(map(min, baseline, _best(1, bare)))  # type: ignore[assignment]
        in_memory = tuple(map(min, in_memory, _best(1, replay)))  # type: ignore[assignment]
    common_path = _best(1, through_iter_log)
    rebuild = _best(1, projector.rebuild)
    state = projector.catch_up()
    rss = peak_rss_of_one_replay(url)
    load = os.getloadavg()[0]
    print(f"账本：{url}，{size:,} 条事件，{len(state.cases):,} 件案件，{len(state.records):,} 条其他记录，"
          f"{len(state.late):,} 条补录（≥24 小时）；测量时系统负载 {load:.1f}（{os.cpu_count()} 核）")
    for label, (wall, cpu) in (("基线 SELECT + msgspec 解码", baseline), ("全部投影重放（内存）", in_memory),
                               ("全部投影重建（写入投影表）", rebuild)):
        print(f"{label}：墙钟 {size / wall:,.0f} 条/秒（{wall:.2f} 秒），CPU {size / cpu:,.0f} 条/秒（{cpu:.2f} 秒）；"
              f"与基线之比 墙钟 {baseline[0] / wall:.2f}，CPU {baseline[1] / cpu:.2f}")
    print(f"参考：项目通用读取路径 iter_log + decode_envelope：CPU {size / common_path[1]:,.0f} 条/秒；"
          f"重放与之比 {common_path[1] / in_memory[1]:.2f}（预算以上面更快的基线计）")
    print(f"一次完整重放的峰值常驻内存（新进程）：{rss:,.0f} MiB")
    print("预算（DESIGN.md）：重放 ≥ 200,000 条/秒 且 ≥ 0.5 × 基线；100 万条重放内存 < 1 GiB")
    projector.close()
    ledger.close()


if __name__ == "__main__":
    main()
