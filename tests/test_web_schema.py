"""The OpenAPI schema: committed and current, and the API keeps to it (schemathesis)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import schemathesis
from _web import make_app
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from propscope.web.openapi import render
from propscope.web.tokens import create_token

COMMITTED = Path(__file__).parents[1] / "docs" / "openapi.json"
EXAMPLES = 15  # per operation: enough to hit odd parameters, cheap enough for every CI run


def test_committed_openapi_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: python -m propscope.web.openapi > docs/openapi.json"
    )


def test_schema_documents_the_contract() -> None:
    schema = json.loads(COMMITTED.read_text(encoding="utf-8"))
    analyze = schema["paths"]["/api/analyze"]["post"]
    body = analyze["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"text", "html", "url", "documents"} <= set(schema["components"]["schemas"][body]["properties"])
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


_folder = Path(tempfile.mkdtemp(prefix="propscope-schemathesis-"))
APP = make_app(_folder, allowed_hosts=None)  # schemathesis calls it "testserver"
TOKEN = create_token(APP.state.bench.store.engine, "analyst")
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@pytest.mark.slow
def test_api_keeps_to_its_schema(case: schemathesis.Case) -> None:
    # Any string is schema-valid text, but most random strings hold no article (E016), so a
    # 422 from /api/analyze is a correct answer, not a schema violation.
    excluded = [positive_data_acceptance] if case.method == "POST" else []
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=excluded)
