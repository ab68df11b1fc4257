"""Where the bundled configuration lives: the ``config/`` directory beside the ``sync`` package.

Its own module so that every loader (lifecycle and mappings, schedule) can name it without
importing another loader.
"""

from pathlib import Path

BUNDLED_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
