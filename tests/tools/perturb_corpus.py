"""Rewrite the report texts inside a labelled FHIR report set and count the categories that change.

``her2-cds eval-pathology CORPUS`` measures agreement with the labels; this measures stability: every text a
report carries (``conclusion``, an Observation's ``valueString``, an Observation's ``note``, the text/plain,
HTML or RTF ``data`` of an attachment or a Binary) is rewritten without changing what it states — upper and
lower case, extra spaces and tabs, fixed-width re-wrapping, synonyms, decimal commas — and the file is read
again. A rewrite that changes the reader's answer is listed. Any folder with FHIR files and ``labels.tsv``
works: the generated corpus, or a laboratory's own report set::

    python -m tests.tools.perturb_corpus CORPUS [--seeds 2] [--kinds upper,lower,respace,...]

Exit 1 when a rewrite moves a report to another category other than "indeterminate" (an unreadable rewrite
is listed but is the safe side); ``--strict`` counts every change.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import random
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds_service.cli.eval_pathology import predict, read_manifest
from tests.corpus import perturbations as p

Rewrite = Callable[[str, random.Random], str]

KINDS: dict[str, Rewrite] = {
    "upper": lambda text, _rng: text.upper(),
    "lower": lambda text, _rng: text.lower(),
    "respace": p.respace,
    "rewrap": lambda text, _rng: p.rewrap(text, 50),
    "synonyms": p.synonyms,
    "decimal_comma": lambda text, _rng: p.decimal_comma(text),
}
#: Rewrites that draw from the random generator are tried once per seed; the others once.
_RANDOM = frozenset({"respace", "synonyms"})
_TEXT_FIELDS = frozenset({"conclusion", "valueString"})
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)


def _is_text(content_type: Any) -> bool:
    kind = str(content_type or "").lower()
    return kind.startswith("text/") or "xhtml" in kind or "rtf" in kind


def _rewrite_data(data: str, content_type: Any, rewrite: Callable[[str], str]) -> str:
    match = _CHARSET.search(str(content_type))
    encoding = match.group(1) if match else "utf-8"
    try:
        text = base64.b64decode(data, validate=False).decode(encoding)
    except (binascii.Error, UnicodeDecodeError, LookupError):
        return data
    rewritten = rewrite(text)
    try:
        data = rewritten.encode(encoding)
    except UnicodeEncodeError:
        # Lower-cased, a Turkish "İ" is "i" and a combining dot a one-byte charset may not hold: the dot
        # goes, not the letter (a "?" in its place would be a question the report never asked).
        rewritten = "".join(c for c in rewritten if not unicodedata.combining(c) or _holds(encoding, c))
        data = rewritten.encode(encoding, "replace")
    return base64.b64encode(data).decode("ascii")


def _holds(encoding: str, char: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def rewrite_texts(node: Any, rewrite: Callable[[str], str]) -> None:
    """Rewrite, in place, every report text of a FHIR JSON document."""
    if isinstance(node, list):
        for item in node:
            rewrite_texts(item, rewrite)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in _TEXT_FIELDS and isinstance(value, str):
            node[key] = rewrite(value)
        elif key == "data" and isinstance(value, str) and _is_text(node.get("contentType")):
            node[key] = _rewrite_data(value, node.get("contentType"), rewrite)
        elif key == "note" and isinstance(value, list):
            for note in value:
                if isinstance(note, dict) and isinstance(note.get("text"), str):
                    note["text"] = rewrite(note["text"])
        else:
            rewrite_texts(value, rewrite)


@dataclass(frozen=True, slots=True, kw_only=True)
class Flip:
    id: str
    rewrite: str
    before: str
    after: str

    @property
    def safe(self) -> bool:
        """A change to "indeterminate" loses an answer; it never gives a wrong one."""
        return self.after == "indeterminate"


def variants(document: Any, kinds: list[str], seeds: int) -> Iterator[tuple[str, Any]]:
    """(name, rewritten copy) for each rewrite and seed."""
    for kind in kinds:
        for seed in range(seeds if kind in _RANDOM else 1):
            rng = random.Random(seed)
            copy = json.loads(json.dumps(document))
            rewrite_texts(copy, lambda text, k=kind, r=rng: KINDS[k](text, r))
            yield (f"{kind}/{seed}" if kind in _RANDOM else kind), copy


def flips(corpus: Path, kinds: list[str], seeds: int) -> tuple[int, list[Flip]]:
    """(reads of rewritten files, the rewrites that changed the answer)."""
    found: list[Flip] = []
    reads = 0
    with tempfile.TemporaryDirectory() as scratch:
        for ident, path, _label in read_manifest(corpus):
            before = predict(path)
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                continue
            for name, copy in variants(document, kinds, seeds):
                rewritten = Path(scratch) / path.name
                rewritten.write_text(json.dumps(copy, ensure_ascii=False), encoding="utf-8")
                after = predict(rewritten)
                reads += 1
                if after != before:
                    found.append(Flip(id=ident, rewrite=name, before=before, after=after))
    return reads, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated rewrites (all)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per random rewrite (2)")
    parser.add_argument("--strict", action="store_true", help="exit 1 on any change, also to indeterminate")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown rewrites: {', '.join(unknown)} (known: {', '.join(KINDS)})")
    reads, found = flips(args.corpus, kinds, args.seeds)
    for flip in found:
        mark = "" if flip.safe else "  <- another category"
        print(f"{flip.id}\t{flip.rewrite}\t{flip.before} -> {flip.after}{mark}")
    wrong = [f for f in found if not f.safe]
    print(f"rewritten reads: {reads}; changed: {len(found)}; to another category: {len(wrong)}")
    return 1 if wrong or (args.strict and found) else 0


if __name__ == "__main__":
    sys.exit(main())
