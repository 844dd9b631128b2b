"""WSGI entry point for gunicorn: ``gunicorn -c cds_service/gunicorn_conf.py cds_service.wsgi:app``.

A configuration error is one line on stderr and exit status 2 (gunicorn then reports that the worker failed
to boot), as with ``her2-cds serve``, never a traceback.
"""

import sys

from cds_service import create_app
from cds_service.settings import SettingsError

try:
    app = create_app()
except SettingsError as exc:
    print(f"her2-cds: configuration error: {' '.join(str(exc).split())}", file=sys.stderr)
    raise SystemExit(2) from None
