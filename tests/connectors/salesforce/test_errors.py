"""Salesforce's error bodies read for the HTTP layer: errorCode of an error array, OAuth's error object."""

from __future__ import annotations

import pytest

from sync.connectors.salesforce.errors import read_error
from sync.http import VendorError

URL = "https://acme.my.salesforce.com/services/data/v61.0/queryAll"


@pytest.fixture
def answer(answered):
    return answered(read_error, URL)


def test_the_first_three_entries_are_quoted_and_the_first_code_counts(answer):
    body = [{"message": f"problem {i}", "errorCode": f"CODE_{i}"} for i in range(1, 5)] + ["stray"]
    assert answer(400, body) == VendorError(code="CODE_1", message="problem 1; problem 2; problem 3")
    assert answer(400, [{"errorCode": "NO_MESSAGE"}, "plain text"]) == VendorError(
        code="NO_MESSAGE", message="{'errorCode': 'NO_MESSAGE'}; plain text")
    assert answer(400, ["not an object"]) == VendorError(code="", message="not an object")
    assert answer(400, []) == VendorError()


@pytest.mark.parametrize(("body", "found"), [
    ({"error": "invalid_grant", "error_description": "authentication failure"},
     VendorError(message="invalid_grant: authentication failure")),  # the code alone says not what failed
    ({"error": "", "error_description": "authentication failure"}, VendorError(message="authentication failure")),
    ({"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"},
     VendorError(code="NOT_FOUND", message="The requested resource does not exist")),
])
def test_objects(answer, body, found):
    assert answer(400, body) == found


def test_a_body_that_is_not_json_is_read_as_text(answer):
    assert answer(503, "Service   Unavailable\n") == VendorError(message="Service Unavailable")
