from pathlib import Path

import pytest

from sync.errors import SettingsError
from sync.settings import Settings, settings_table

ROOT = Path(__file__).resolve().parents[2]


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
