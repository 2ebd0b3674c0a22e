"""The wire contract itself: valid JSON Schemas, one import direction, one canonical encoder.

What the CLI and the API really emit is checked against these schemas in
``tests/api/test_wire_contract.py``; proofs by an outside verifier in
``tests/integration/integrity/test_proofs_rfc9162.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import jsonschema_rs
import msgspec
import pytest
from click.testing import CliRunner

from ledger.cli import main
from ledger.integrity.verify import KINDS
from schemas.catalog import CATALOG
from schemas.integrity import DamageKind

ROOT = Path(__file__).resolve().parents[2]
CHINESE = re.compile(r"[\u4e00-\u9fff]")
OURS = ("ledger", "api", "plugins", "bench", "tests")


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_exported_schema_is_valid_json_schema_with_a_chinese_description(name: str) -> None:
    kind, description = CATALOG[name]
    schema = msgspec.json.schema(kind)
    assert jsonschema_rs.meta.is_valid(schema), name
    assert CHINESE.search(description), name


def test_the_meta_schema_check_can_fail() -> None:
    assert not jsonschema_rs.meta.is_valid({"type": "no-such-type"})


def test_the_schemas_package_imports_nothing_of_ours_outside_it() -> None:
    for path in sorted((ROOT / "schemas").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in OURS, f"{path.name} imports {name}"


SORTED_ENCODER = re.compile(r"json\.(?:encode|Encoder)\([^)]*order\s*=")


def test_canonical_json_is_written_in_one_place() -> None:
    found = [
        str(path.relative_to(ROOT))
        for package in ("ledger", "api", "schemas", "plugins")
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if SORTED_ENCODER.search(line)
    ]
    assert found == ["ledger/canonical.py"]


def test_every_kind_of_damage_has_its_chinese_name() -> None:
    assert set(KINDS) == set(get_args(DamageKind))
    assert all(CHINESE.search(name) for name in KINDS.values())


def test_schema_without_a_name_lists_every_name_and_an_unknown_name_is_refused() -> None:
    listed = CliRunner().invoke(main, ["schema"])
    assert listed.exit_code == 0
    assert all(name in listed.output for name in CATALOG)
    unknown = CliRunner().invoke(main, ["--json", "schema", "proofs"])
    assert unknown.exit_code == 2
    assert msgspec.json.decode(unknown.output)["error"] == "unknown_schema"
