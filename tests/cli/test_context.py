"""Logging as every command configures it: one redaction point on the root handler, werkzeug's access log included."""

from __future__ import annotations

import os
import subprocess
import sys

# A process as `lifesync serve` (embedded) starts one: settings() configures logging, werkzeug serves the app and
# writes its access line through the root handler; urllib3 logs the request line at DEBUG.
SERVE = """
import logging, requests
from werkzeug.serving import make_server
from sync.cli.context import settings
from sync.web import create_app
found = settings()
server = make_server("127.0.0.1", 0, create_app(found, enqueue=lambda ids: None), threaded=True)
import threading; threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_port}"
answer = requests.get(base + "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wa-verify-8841&hub.challenge=77")
assert answer.text == "77", answer.text
requests.post(base + "/webhooks/salesforce/default/sf-outbound-7713", data=b"<x/>")
logging.getLogger("sync").warning("token %s, ops %s, url %s", "wa-verify-8841", "ops-token-99881",
                                  "https://graph.facebook.com/v26.0/me?access_token=EAAB-not-configured-1")
try:
    raise ValueError("refused Bearer abc123-unconfigured-xyz for ana@example.com")
except ValueError:
    logging.getLogger("sync").exception("failed with the Salesforce secret sf-outbound-7713")
server.shutdown()
"""


def test_every_line_of_a_serving_process_is_redacted(tmp_path):
    secrets = {"LIFESYNC_WHATSAPP_APP_SECRET": "wa-app-secret-1", "LIFESYNC_WHATSAPP_VERIFY_TOKEN": "wa-verify-8841",
               "LIFESYNC_SALESFORCE_OUTBOUND_SECRET": "sf-outbound-7713", "LIFESYNC_OPS_TOKEN": "ops-token-99881"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFESYNC_")}
    env.update(secrets, LIFESYNC_LOG_LEVEL="DEBUG", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    out = subprocess.run([sys.executable, "-c", SERVE], env=env, capture_output=True, text=True, timeout=120,
                         check=True)
    log = out.stderr
    assert "werkzeug" in log and "GET /webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=[redacted]" in log, log
    assert "POST /webhooks/salesforce/default/[redacted]" in log and "Traceback" in log
    leaked = [s for s in (*secrets.values(), "EAAB-not-configured-1", "abc123-unconfigured-xyz", "ana@example.com")
              if s in log]
    assert leaked == []
