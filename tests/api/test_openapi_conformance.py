"""Schemathesis against the OpenAPI document, in process: no server errors, no undocumented
status codes or content types, every response body matching its schema.

Runs as the county administrator (most routes reach their handler) and once without a token.
The live feed is asked not to follow (``wait=0``) so every call ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_world import World, build_world
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

schemathesis.serializer.alias(["application/x-ndjson", "application/jsonl"], "text/plain")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def module_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    path: Path = tmp_path_factory.mktemp("openapi")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XINFANG_KEY_FILE", str(path / "ledger.key"))
        yield from build_world(f"sqlite:///{path}/ledger.sqlite3", path / "ledger.key")


@pytest.fixture(scope="module")
def openapi_schema(module_world: World) -> Any:
    document = module_world.get("/schema/openapi.json", None).json()
    schema = schemathesis.openapi.from_dict(document)
    schema.config.base_url = BASE
    return schema


BASE = "http://testserver.local"


def _call(case: Any, world: World, who: str | None) -> None:
    """Send the case through Litestar's test client (one app, one lifespan) and validate the answer."""
    if case.path == "/api/feed":
        case.query = {**(case.query or {}), "wait": 0}
    sent = case.as_transport_kwargs(headers=world.headers(who))
    url = sent.pop("url").removeprefix(BASE)
    response = world.client.request(
        sent.pop("method"), url, params=sent.get("params"), headers=sent.get("headers"), content=_body(sent),
    )
    case.validate_response(response, checks=CHECKS, headers=sent.get("headers"))


def _body(sent: dict[str, Any]) -> bytes | None:
    if "json" in sent:
        return json.dumps(sent["json"]).encode()
    data = sent.get("data")
    return data.encode() if isinstance(data, str) else data


def _run(schema: Any, world: World, who: str | None, examples: int) -> list[str]:
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            _call(case, world, who)

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report all
            failures.append(f"{operation.label}: {exc}")
    return failures


def test_api_conforms_to_its_openapi_document_as_admin(openapi_schema: Any, module_world: World) -> None:
    failures = _run(openapi_schema, module_world, "admin", 15)
    assert not failures, "\n\n".join(failures)


def test_api_conforms_to_its_openapi_document_without_a_token(openapi_schema: Any, module_world: World) -> None:
    failures = _run(openapi_schema, module_world, None, 3)
    assert not failures, "\n\n".join(failures)


def test_every_operation_documents_its_errors(module_world: World) -> None:
    document = module_world.get("/schema/openapi.json", None).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            if path.startswith("/api/"):
                assert "401" in codes, (method, path)
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], (method, path, code)
            if method in {"post", "put"} and path != "/api/imports":
                assert {"400", "413"} <= codes, (method, path)
