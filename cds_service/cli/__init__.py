"""The ``her2-cds`` command line: one sub-command module per capability under ``cds_service.cli``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cds_service.settings import SettingsError

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a configuration error anywhere is one line on stderr and exit status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except SettingsError as exc:
        message = " ".join(str(exc).split())
        print(f"her2-cds {args.command}: configuration error: {message}", file=sys.stderr)
        return EXIT_CONFIGURATION
    return code
