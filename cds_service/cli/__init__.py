"""The ``her2-cds`` command line: one sub-command module per capability under ``cds_service.cli``."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = ("classify", "rules_doc", "pet", "receive", "sync", "serve", "demo")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code
