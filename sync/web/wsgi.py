"""WSGI entry point for gunicorn: ``gunicorn sync.web.wsgi:app``."""

from sync.web.app import create_app

app = create_app()
