"""WSGI entry point for gunicorn: ``gunicorn jobs.wsgi:app``."""

from jobs.web import create_web_app

app = create_web_app()
