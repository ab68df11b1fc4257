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
