"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``; configured from ``CONNECTOR_*`` variables."""

from connector import create_app

app = create_app()
