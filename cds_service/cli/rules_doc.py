"""``her2-cds rules-doc``: print the HER2 decision tables as Markdown (docs/her2-decision-tables.md)."""

from __future__ import annotations

import argparse
import sys

from rules.her2 import decision_tables_markdown


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("rules-doc", help="print the HER2 decision tables as Markdown")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(decision_tables_markdown())
    return 0
