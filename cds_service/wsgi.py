"""WSGI entry point for gunicorn: ``gunicorn -c cds_service/gunicorn_conf.py cds_service.wsgi:app``."""

from cds_service import create_app

app = create_app()
