"""``python -m cds_service.cli``: the ``her2-cds`` command line."""

import sys

from cds_service.cli import main

sys.exit(main())
