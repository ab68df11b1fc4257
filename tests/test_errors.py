"""The error tree: context is declared on the classes, and the positional signatures still work."""

from __future__ import annotations

import pytest

from sync.connectors.respondio.client import RateLimitPause
from sync.connectors.salesforce.client import DAILY_LIMIT_WAIT, ApiLimitExceeded
from sync.errors import (
    AuthError,
    LifesyncError,
    PermanentError,
    RateLimited,
    SettingsError,
    SyncError,
    TransientError,
    ValidationError,
)


@pytest.mark.parametrize("kind", [SyncError, AuthError, RateLimited, TransientError, PermanentError, ValidationError])
def test_every_sync_error_has_its_context_empty_by_default(kind):
    error = kind("it failed")
    assert isinstance(error, LifesyncError) and str(error) == "it failed" and error.args == ("it failed",)
    assert (error.status, error.retry_after, error.vendor_code, error.vendor_message) == (None, None, "", "")
    assert error.bisect is False and error.located == {}


@pytest.mark.parametrize("kind", [SyncError, AuthError, RateLimited, TransientError, PermanentError, ValidationError])
def test_the_context_is_given_by_keyword(kind):
    located = {2: "bad email"}
    error = kind("refused", status=400, retry_after=3.5, vendor_code="100/33", vendor_message="no such dataset",
                 bisect=True, located=located)
    assert str(error) == "refused"
    assert (error.status, error.retry_after, error.vendor_code, error.vendor_message) == (400, 3.5, "100/33",
                                                                                         "no such dataset")
    assert error.bisect is True and error.located == {2: "bad email"}
    located[5] = "later"
    assert error.located == {2: "bad email"}  # a copy: the caller's mapping is not shared


def test_rate_limited_keeps_its_positional_retry_after_and_says_it_was_sent():
    assert RateLimited("slow down", 30.0).retry_after == 30.0
    assert RateLimited("slow down", retry_after=7).retry_after == 7
    assert RateLimited("slow down").sent is True
    with pytest.raises(TypeError):
        TransientError("x", 5.0)  # only RateLimited takes retry_after positionally


def test_a_pause_before_sending_is_a_rate_limit_that_was_not_sent():
    pause = RateLimitPause("budget spent", retry_after=12.0)
    assert isinstance(pause, RateLimited) and pause.sent is False and pause.retry_after == 12.0


def test_the_daily_api_limit_never_asks_for_less_than_an_hour():
    assert ApiLimitExceeded("limit", retry_after=None).retry_after == DAILY_LIMIT_WAIT
    assert ApiLimitExceeded("limit", 10.0, status=403).retry_after == DAILY_LIMIT_WAIT
    assert ApiLimitExceeded("limit", retry_after=DAILY_LIMIT_WAIT * 2).retry_after == DAILY_LIMIT_WAIT * 2


@pytest.mark.parametrize(("env", "variable"), [
    ({"LIFESYNC_BATCH_SIZE": "0"}, "LIFESYNC_BATCH_SIZE"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"LIFESYNC_CONFIG_DIR": "/nonexistent/lifesync"}, "LIFESYNC_CONFIG_DIR"),
])
def test_a_settings_error_names_its_variable_as_a_field(env, variable):
    from sync.settings import Settings

    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == variable and variable in str(caught.value)


def test_a_connection_block_error_names_the_named_connections_variable():
    from sync.connectors.hubspot.settings import HubSpotSettings
    from sync.settings import Settings

    settings = Settings.from_env({"LIFESYNC_HUBSPOT_TOKEN__SALON2": "t", "LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2": "x"})
    with pytest.raises(SettingsError) as caught:
        HubSpotSettings.of(settings, "salon2")
    assert caught.value.variable == "LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2"
    assert SettingsError("plain").variable is None
