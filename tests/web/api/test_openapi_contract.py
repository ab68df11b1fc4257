"""The OpenAPI document is the contract: schemathesis drives every operation, on a database the demo filled.

For each operation of ``/api/openapi.json``, schemathesis generates requests from its schemas (valid
ones, and invalid ones for the error paths) and checks every answer: never a 5xx, the status is one
the document lists, and the body conforms to that status's schema. A route added without schemas,
or answering with a shape it does not document, fails here.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from support.demo_data import fill_with_demo
from web.api.conftest import BOOTSTRAP, bearer

# per operation; CI keeps 15 to stay within its 20 minutes (LIFESYNC_API_CONTRACT_EXAMPLES=200 for a deeper run)
EXAMPLES = int(os.environ.get("LIFESYNC_API_CONTRACT_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_keeps_its_documented_contract(api_app, store, database_url, tmp_path):
    fill_with_demo(database_url, tmp_path)
    api_app.extensions["lifesync"]["auth_attempts"].clear()
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    broken = []
    for operation in operations:  # every operation is tried, so one run names every broken one
        try:
            holds(operation)
        except Exception as exc:  # hypothesis' falsifying example: its message has the curl to reproduce it
            broken.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert not broken, "\n\n".join(broken)


def holds(operation) -> None:
    """Every generated request of ``operation`` gets an answer its document allows."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def answers(case):
        response = case.call(headers=bearer(BOOTSTRAP))
        case.validate_response(response, checks=CHECKS)

    answers()
