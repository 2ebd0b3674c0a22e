"""A small county behind the HTTP API: units, officials, three cases, and a token per role and unit.

Cases (all registered by the 信访局 clerk):

* ``A-1`` — home township town-a, forwarded to town-a (town-a's own case);
* ``B-1`` — home township town-b, forwarded to town-b (foreign to town-a);
* ``J-1`` — a 检举 accusing town-a and its head ``head-a``, forwarded to dept-land.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec
from litestar.testing import TestClient

from api.app import create_app
from ledger.application import Ledger
from ledger.bootstrap import bootstrap
from ledger.integrity.keys import create_key
from ledger.tokens import TokenStore
from ledger.vault_key import create_master_key
from schemas.common import Actor
from support.county import ADMIN, CLERK, START, command, county_setup

TOKENS: dict[str, Actor] = {
    "admin": Actor(id="admin-1", unit="county", role="admin"),
    "clerk": Actor(id="clerk-1", unit="xfj", role="clerk"),
    "handler-a": Actor(id="handler-a", unit="town-a", role="handler"),
    "handler-b": Actor(id="handler-b", unit="town-b", role="handler"),
    "village": Actor(id="handler-v", unit="village-a1", role="handler"),
    "head-a": Actor(id="head-a", unit="town-a", role="leader"),
    "leader": Actor(id="leader-1", unit="county", role="leader"),
    "inspector": Actor(id="inspector-1", unit="county", role="inspector"),
    "appraiser": Actor(id="appraiser-1", unit="county", role="appraiser"),
}


def county_cases() -> list[Any]:
    day = timedelta(days=1)
    return [
        command("RegisterPetition", START, number="A-1", home_township="town-a", petitioners=["P-A"]),
        command("ForwardCase", START + day, case="A-1", to_unit="town-a"),
        command("RegisterPetition", START, number="B-1", home_township="town-b", petitioners=["P-B"]),
        command("ForwardCase", START + day, case="B-1", to_unit="town-b"),
        command("RegisterPetition", START, number="J-1", home_township="town-a", petitioners=["P-J"],
                flags=["检举"], accused=["town-a", "head-a"], subject="检举乡镇干部"),
        command("ForwardCase", START + day, case="J-1", to_unit="dept-land"),
    ]


@dataclass
class World:
    client: TestClient[Any]
    ledger: Ledger
    url: str
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def get(self, path: str, who: str | None = "admin", **kwargs: Any) -> Any:
        return self.client.get(path, headers={**self.headers(who), **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, body: Any, who: str | None = "admin", **kwargs: Any) -> Any:
        content = body if isinstance(body, bytes) else msgspec.json.encode(body)
        headers = {"Content-Type": "application/json", **self.headers(who), **kwargs.pop("headers", {})}
        return self.client.post(path, content=content, headers=headers, **kwargs)

    def size(self) -> int:
        return int(self.ledger.recorder.tree_size())  # type: ignore[attr-defined]


CASES = {"A-1": "P-A", "B-1": "P-B", "J-1": "P-J"}
"""Case number → its petitioner."""
VISIBLE: dict[str, set[str]] = {
    "admin": {"A-1", "B-1", "J-1"},
    "clerk": {"A-1", "B-1", "J-1"},
    "handler-a": {"A-1"},
    "handler-b": {"B-1"},
    "village": set(),
    "head-a": {"A-1"},
    "leader": {"A-1", "B-1", "J-1"},
    "inspector": {"A-1", "B-1", "J-1"},
    "appraiser": {"A-1", "B-1", "J-1"},
}
"""Which cases each caller sees: own subtree, never the 检举 that accuses them (village-a1 lies below town-a)."""


def build_world(url: str, key_file: Path) -> Iterator[World]:
    create_key(key_file)
    create_master_key(url)  # beside the signing key: the callers set XINFANG_KEY_FILE
    services = bootstrap(url)
    ledger = services.ledger
    for cmd in county_setup():
        ledger.execute(cmd, ADMIN)
    ledger.execute(command("RegisterOfficial", START - timedelta(days=20), code="handler-a", name="承办人甲",
                           unit="town-a", title="干事"), ADMIN)
    for cmd in county_cases():
        ledger.execute(cmd, CLERK)
    with TokenStore(url) as store:
        tokens = {name: store.create(actor) for name, actor in TOKENS.items()}
    app = create_app(services)
    with TestClient(app) as client:
        yield World(client=client, ledger=ledger, url=url, tokens=tokens)


