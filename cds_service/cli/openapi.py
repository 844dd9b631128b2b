"""``her2-cds openapi [--markdown] [--server URL]``: print the service's OpenAPI document.

JSON by default (what ``/openapi.json`` serves); ``--markdown`` prints the API reference page
(``docs/api.md`` is this output, checked by a test).
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("openapi", help="print the OpenAPI document (or its Markdown reference)")
    parser.add_argument("--markdown", action="store_true", help="print the Markdown API reference instead")
    parser.add_argument("--server", help="server URL to list in the document (default: none)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cds_service.openapi import build_openapi, markdown_reference

    doc = build_openapi(args.server)
    print(
        markdown_reference(doc) if args.markdown else json.dumps(doc, indent=2),
        end="" if args.markdown else "\n",
    )
    return 0
