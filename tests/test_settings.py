from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from sync.cli.main import main
from sync.errors import SettingsError
from sync.settings import (
    BOOLEAN,
    URL,
    ConnectionSettings,
    Settings,
    choice,
    comma_list,
    integer,
    matching,
    number,
    setting,
    settings_table,
)

ROOT = Path(__file__).resolve().parents[1]


def test_readme_lists_every_setting_exactly():
    assert settings_table() in (ROOT / "README.md").read_text()


def test_defaults():
    s = Settings.from_env({})
    assert (s.database_url, s.batch_size, s.log_level, s.config_dir) == ("sqlite:///lifesync.db", 500, "INFO", None)


def test_postgres_urls_use_psycopg():
    assert Settings.from_env({"DATABASE_URL": "postgresql://u@h/db"}).database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(("env", "message"), [
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a sqlite"),
    ({"LIFESYNC_BATCH_SIZE": "many"}, "LIFESYNC_BATCH_SIZE must be an integer"),
    ({"LIFESYNC_BATCH_SIZE": "0"}, "between 1 and 10000"),
    ({"LIFESYNC_LOG_LEVEL": "loud"}, "LIFESYNC_LOG_LEVEL must be"),
    ({"LIFESYNC_CONFIG_DIR": "/nonexistent/dir"}, "is not a directory"),
])
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_a_connection_suffix_in_any_case_names_the_same_connection():
    settings = Settings.from_env({"LIFESYNC_GENERIC_SECRET__Shop": "s", "LIFESYNC_GENERIC_MAPPING__shop": "shop/order",
                                  "LIFESYNC_WHATSAPP_APP_SECRET": "default-secret"})
    assert settings.connections("generic", "secret") == settings.connections("generic", "mapping") == ["shop"]
    assert settings.connection_setting("generic", "secret", "shop") == "s"
    assert settings.connection_setting("generic", "mapping", "shop") == "shop/order"
    assert settings.connection_setting("whatsapp", "app_secret") == "default-secret"


# --- the typed mechanism: kinds, blocks, fallback, cache ----------------------------------------

def test_lifesync_settings_prints_the_readme_table_unchanged():
    output = CliRunner().invoke(main, ["settings"]).output
    readme = (ROOT / "README.md").read_text()
    assert output.rstrip("\n") == settings_table()
    start = readme.index("| variable | default | meaning |")
    end = readme.index("\n\n", start)
    assert readme[start:end] == output.rstrip("\n")  # the README holds exactly what the command prints


@pytest.mark.parametrize(("kind", "raw", "value"), [
    (integer(1, 10), "7", 7),
    (integer(1, 10), " 10 ", 10),
    (integer(0), "123456789", 123_456_789),
    (number(0.01, 1.0), "0.5", 0.5),
    (number(0, 86_400), "300", 300.0),
    (BOOLEAN, "Yes", True),
    (BOOLEAN, "0", False),
    (BOOLEAN, " off", False),
    (choice("sha1", "sha256"), "SHA256", "sha256"),
    (choice("DEBUG", "INFO"), "debug", "DEBUG"),
    (URL, " https://hooks.example.com/prefix/ ", "https://hooks.example.com/prefix/"),
    (URL, "http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    (matching(r"v?\d+\.\d+", "a version"), "61.0", "61.0"),
    (comma_list(), " a, b ,,c ", ("a", "b", "c")),
    (comma_list(), ",", ()),
    (comma_list(choice("v1", "v2", "v3")), "V3, v1", ("v3", "v1")),
])
def test_kinds_parse_valid_text(kind, raw, value):
    assert kind.parse(raw) == value and type(kind.parse(raw)) is type(value)


@pytest.mark.parametrize(("kind", "raw", "reason"), [
    (integer(1, 10), "abc", "must be an integer, got 'abc'"),
    (integer(1, 10), "1.5", "must be an integer, got '1.5'"),
    (integer(1, 10), "11", "must be between 1 and 10, got 11"),
    (integer(1), "0", "must be at least 1, got 0"),
    (number(0.01, 1.0), "1.5", "must be between 0.01 and 1, got 1.5"),
    (number(0.01, 1.0), "nan", "must be between 0.01 and 1, got nan"),
    (number(0, 86_400), "five", "must be a number, got 'five'"),
    (BOOLEAN, "maybe", "must be true or false, got 'maybe'"),
    (choice("sha1", "sha256"), "md5", "must be sha1 or sha256, got 'md5'"),
    (choice("a", "b", "c"), "d", "must be a, b or c, got 'd'"),
    (URL, "hooks.example.com", "must be an http:// or https:// URL with a host, got 'hooks.example.com'"),
    (URL, "ftp://files.example.com", "must be an http:// or https:// URL with a host, got 'ftp://files.example.com'"),
    (URL, "https://", "must be an http:// or https:// URL with a host, got 'https://'"),
    (URL, "https://[::1", "must be an http:// or https:// URL with a host, got 'https://[::1'"),
    (matching(r"v?\d+\.\d+", "a version like v61.0"), "latest", "must be a version like v61.0, got 'latest'"),
    (comma_list(choice("v1", "v2", "v3")), "v3,v4", "items must be v1, v2 or v3, got 'v4'"),
    (comma_list(required=True), " , ", "must list at least one value, got ' , '"),
])
def test_kinds_refuse_malformed_text_saying_what_they_expected(kind, raw, reason):
    with pytest.raises(ValueError) as raised:
        kind.parse(raw)
    assert str(raised.value) == reason


@dataclass(frozen=True)
class Sample(ConnectionSettings):
    """A block over real variables (every field's variable must be in SETTINGS)."""

    platform: ClassVar[str] = "hubspot"

    token: str | None = setting("LIFESYNC_HUBSPOT_TOKEN")
    rate: int = setting("LIFESYNC_HUBSPOT_RATE_PER_10S", integer(1), fallback=True)
    lookback: int = setting("LIFESYNC_HUBSPOT_LOOKBACK_SECONDS", integer(0))
    versions: tuple[str, ...] = setting("LIFESYNC_HUBSPOT_SIGNATURE_VERSIONS", comma_list(), fallback=True)


def test_a_block_takes_its_defaults_from_the_settings_table():
    sample = Sample.of(Settings.from_env({}))
    assert (sample.connection, sample.token, sample.rate, sample.lookback, sample.versions) == (
        "default", None, 100, 300, ("v1", "v2", "v3"))
    assert Sample() == sample  # the dataclass defaults are the table's too


@pytest.mark.parametrize(("env", "connection", "expected"), [
    ({"LIFESYNC_HUBSPOT_RATE_PER_10S": "50"}, "salon2", 50),  # falls back to the default connection's
    ({"LIFESYNC_HUBSPOT_RATE_PER_10S": "50", "LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2": "20"}, "salon2", 20),
    ({"LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2": "20"}, "default", 100),
    ({"LIFESYNC_HUBSPOT_RATE_PER_10S__Salon2": "20"}, "salon2", 20),  # the suffix in any case
])
def test_a_named_connection_falls_back_to_the_default_connections_value(env, connection, expected):
    assert Sample.of(Settings.from_env(env), connection).rate == expected


def test_without_fallback_a_named_connection_keeps_the_table_default_or_its_own_value():
    settings = Settings.from_env({"LIFESYNC_HUBSPOT_TOKEN": "pat-default", "LIFESYNC_HUBSPOT_LOOKBACK_SECONDS": "60"})
    salon2 = Sample.of(settings, "salon2")
    assert (salon2.token, salon2.lookback) == (None, 300)


@pytest.mark.parametrize(("env", "connection", "message"), [
    ({"LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2": "abc"}, "salon2",
     "LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2 must be an integer, got 'abc'"),
    # a fallen-back value is named by the variable it came from
    ({"LIFESYNC_HUBSPOT_RATE_PER_10S": "0"}, "salon2", "LIFESYNC_HUBSPOT_RATE_PER_10S must be at least 1, got 0"),
    ({"LIFESYNC_HUBSPOT_LOOKBACK_SECONDS": "-1"}, "default",
     "LIFESYNC_HUBSPOT_LOOKBACK_SECONDS must be at least 0, got -1"),
])
def test_a_malformed_value_is_a_settings_error_naming_the_exact_variable(env, connection, message):
    with pytest.raises(SettingsError) as raised:
        Sample.of(Settings.from_env(env), connection)
    assert str(raised.value) == message


def test_a_block_is_parsed_once_per_settings_and_connection():
    settings = Settings.from_env({"LIFESYNC_HUBSPOT_RATE_PER_10S__SALON2": "20"})
    assert Sample.of(settings, "salon2") is Sample.of(settings, "salon2")
    assert Sample.of(settings) is not Sample.of(settings, "salon2")
    assert Sample.of(Settings.from_env({})) is not Sample.of(settings)  # cached per Settings instance


def test_a_malformed_block_is_not_cached_and_fails_each_time():
    settings = Settings.from_env({"LIFESYNC_HUBSPOT_RATE_PER_10S": "x"})
    for _ in range(2):
        with pytest.raises(SettingsError, match="LIFESYNC_HUBSPOT_RATE_PER_10S"):
            Sample.of(settings)


def test_variable_names_presence_and_connections_without_parsing():
    settings = Settings.from_env({"LIFESYNC_HUBSPOT_TOKEN__EU": "pat-eu", "LIFESYNC_HUBSPOT_TOKEN": "pat",
                                  "LIFESYNC_HUBSPOT_RATE_PER_10S": "not a number"})
    assert Sample.variable("rate", "eu") == "LIFESYNC_HUBSPOT_RATE_PER_10S__EU"
    assert Sample.variable("rate") == "LIFESYNC_HUBSPOT_RATE_PER_10S"
    assert Sample.connections(settings, "token") == ["default", "eu"]
    assert Sample.is_set(settings, "rate", "eu")  # through its fallback, and not validated
    assert not Sample.is_set(settings, "lookback", "eu")


def test_field_values_never_reach_repr():
    sample = Sample.of(Settings.from_env({"LIFESYNC_HUBSPOT_TOKEN": "pat-secret-token"}))
    assert repr(sample) == "Sample(connection='default')"


def test_a_field_must_name_a_documented_variable():
    with pytest.raises(LookupError, match=r"LIFESYNC_HUBSPOT_NOPE is not in sync\.settings\.SETTINGS"):
        setting("LIFESYNC_HUBSPOT_NOPE")


def test_secret_values_are_every_credential_setting_of_every_connection_and_url_passwords():
    found = Settings.from_env({
        "DATABASE_URL": "postgresql://app:db-pass-123@db/x", "REDIS_URL": "redis://:redis-pass-9@r:6379/0",
        "LIFESYNC_WHATSAPP_VERIFY_TOKEN": "vt-default", "LIFESYNC_WHATSAPP_VERIFY_TOKEN__Salon2": "vt-salon2",
        "LIFESYNC_SALESFORCE_OUTBOUND_SECRET__SHOP": "sf-shop", "LIFESYNC_META_ACCESS_TOKEN": "EAAB-x",
        "LIFESYNC_RESPONDIO_WEBHOOK_KEY": "rk-1", "LIFESYNC_SECRET_KEY": "fernet-1", "LIFESYNC_OPS_TOKEN": "ops-1",
        "LIFESYNC_META_DATASET_ID": "1234567890", "LIFESYNC_HUBSPOT_RATE_PER_10S": "100",
        "LIFESYNC_WHATSAPP_PHONE_NUMBER_IDS": "555001"})
    assert set(found.secret_values()) == {"db-pass-123", "redis-pass-9", "vt-default", "vt-salon2", "sf-shop",
                                          "EAAB-x", "rk-1", "fernet-1", "ops-1"}
