"""The Flask shell: app factory, webhook receivers, health and (later) the ops API and console.

``create_app(settings, enqueue=..., queue=...)`` builds the app; ``webhooks/`` holds one module
per receiver, ``health`` the probes, ``ops_auth`` the ops surfaces' authentication. It knows no
job system: ``jobs.web`` wires rq in where the web process is assembled.
"""

from sync.web.app import create_app

__all__ = ["create_app"]
