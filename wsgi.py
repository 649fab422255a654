"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi …``; configured from ``CONNECTOR_*`` variables."""

import gc

from connector import create_app

app = create_app()
# the application's own objects (modules, models, schemas, routes) live as long as the process: moved out of the
# cyclic collector's reach, a full collection no longer walks them (a pause in the middle of some request)
gc.freeze()
