"""Flask shell: app factory, webhook receivers, health and (later) the ops API."""

from sync.web.app import create_app

__all__ = ["create_app"]
