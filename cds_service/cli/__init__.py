"""The ``her2-cds`` command line: one sub-command module per capability under ``cds_service.cli``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from cds_service.settings import SettingsError, log_level_from_env

COMMAND_MODULES: tuple[str, ...] = (
    "classify",
    "eval_pathology",
    "rules_doc",
    "pet",
    "receive",
    "sync",
    "migrate",
    "openapi",
    "serve",
    "demo",
    "cohort",
    "alerts",
    "feedback_report",
)
"""Sub-command modules; each exposes ``register(subparsers)`` and sets ``func`` on its parser."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="her2-cds",
        description="HER2 PET decision support: pathology classification, PET analysis, CDS Hooks service.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"cds_service.cli.{name}").register(subparsers)
    return parser


EXIT_CONFIGURATION = 2
"""Exit status of every command whose ``HER2CDS_*`` configuration is unusable (one line on stderr)."""
EXIT_BROKEN_PIPE = 141
"""Exit status when standard output was closed by its reader (128 + SIGPIPE, as a shell reports it)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a configuration error anywhere is one line on stderr and exit status 2.

    Log records of every command (ours and the libraries', such as urllib3 or pynetdicom) are JSON lines on
    standard error with the service's redaction (``cds_service.observability``), at ``HER2CDS_LOG_LEVEL``;
    standard output keeps each command's results. ``serve`` and ``demo`` move them to standard output with
    the service's workers.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from cds_service.observability import configure_logging

        level = log_level_from_env(os.environ)
        configure_logging(level, stderr=True)
        if level != "DEBUG":  # "Context impl SQLiteImpl." at every schema check says nothing to an operator
            logging.getLogger("alembic").setLevel(logging.WARNING)
        code: int = args.func(args)
    except SettingsError as exc:
        message = " ".join(str(exc).split())
        print(f"her2-cds {args.command}: configuration error: {message}", file=sys.stderr)
        return EXIT_CONFIGURATION
    except BrokenPipeError:
        # The reader of our output went away ("her2-cds eval-pathology DIR | head"): stop quietly, as Unix
        # tools do, instead of a traceback (and keep the interpreter's final flush from raising again).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code
