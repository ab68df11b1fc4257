"""WSGI entry point for gunicorn: ``gunicorn -c python:jobs.gunicorn_conf jobs.wsgi:app`` (as ``lifesync serve``)."""

from jobs.web import create_web_app

app = create_web_app()
