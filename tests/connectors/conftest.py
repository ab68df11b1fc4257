"""Fixtures every connector's tests share: a strict HTTP mock, and a vendor's error body read back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import responses

from sync.http import VendorError, make_session


@pytest.fixture
def mock():
    """A ``responses`` mock that fails on a request nobody registered, and on a registered one never made."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as strict:
        yield strict


@pytest.fixture
def answered(mock):
    """``answered(reader, url)`` → ``answer(status, body)``: what ``reader`` makes of that answer to a GET."""
    def bind(reader: Callable[[Any], VendorError], url: str) -> Callable[[int, Any], VendorError]:
        def answer(status: int, body: Any) -> VendorError:
            kwargs = {"json": body} if isinstance(body, dict | list) else {"body": body}
            mock.add(responses.GET, url, status=status, **kwargs)
            return reader(make_session().get(url))
        return answer
    return bind
