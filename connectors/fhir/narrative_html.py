"""HTML report bodies (``Binary`` text/html, ``DocumentReference`` attachments) → text with line structure.

Pathology systems often send the narrative as HTML. The text parser reads line by line, so block elements
(``<p>``, ``<div>``, ``<br>``, ``<tr>``, ``<li>``, headings) become line breaks, table cells are separated
by a tab, ``<pre>`` keeps its own line breaks, and ``<script>``/``<style>``/``<head>`` content is dropped.
Entities and character references are decoded by :class:`html.parser.HTMLParser` (``convert_charrefs``).
"""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from typing import Final

from connectors.fhir.narrative_sections import part_label

_BLOCK_TAGS: Final = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "div", "dl", "dt",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li", "main", "ol", "p", "pre",
        "section", "table", "tbody", "tfoot", "thead", "title", "tr", "ul",
    }
)  # fmt: skip
_CELL_TAGS: Final = frozenset({"td", "th"})
_SKIP_TAGS: Final = frozenset({"script", "style", "head", "template"})
_SPACES_RE: Final = re.compile(r"[ \t\f\v\r\n]+")
_TAG_RE: Final = re.compile(r"<[^>]*>")
#: Separates the cells of a table row on their way to pipe rows: a control character no report text holds
#: (a tab can be in the text itself: in ``<pre>`` blocks, "not<tab>amplified" is one cell, not two).
_CELL_MARK: Final = "\x1f"
_BLOCK_TAG_RE: Final = re.compile(r"</?(?:br|p|div|tr|li|h[1-6]|pre|table)\b[^>]*>", re.IGNORECASE)


class _TextCollector(HTMLParser):
    """Collects text runs and line breaks; whitespace outside ``<pre>`` is collapsed as a browser would."""

    def __init__(self, cell_separator: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cell_separator = cell_separator
        self.parts: list[str] = []
        self._pre_depth = 0
        self._skip_depth = 0
        self._row_has_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _CELL_TAGS:
            if self._row_has_cell:
                self.parts.append(self.cell_separator)
            self._row_has_cell = True
        elif tag in _BLOCK_TAGS:
            self._break(explicit=tag == "br")
            if tag == "tr":
                self._row_has_cell = False
            if tag == "pre":
                self._pre_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            self._break()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self._break(explicit=tag == "br")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        data = data.replace(_CELL_MARK, " ")
        if self._pre_depth:
            self.parts.append(data)
            return
        text = _SPACES_RE.sub(" ", data)
        if text.strip() or (self.parts and not self.parts[-1].endswith("\n")):
            self.parts.append(text)

    def _break(self, *, explicit: bool = False) -> None:
        """A line break: a block boundary ends the current line once; ``<br>`` always breaks (so a ``<br>``
        after a paragraph gives an empty line, as a browser shows it)."""
        if explicit or (self.parts and not self.parts[-1].endswith("\n")):
            self.parts.append("\n")


def html_to_text(html: str) -> str:
    """Plain text of an HTML document, one line per block element (``<br>``, ``<p>``, ``<tr>``, ``<li>``, …),
    the cells of a table row separated by a tab.

    Runs of blank lines are reduced to one, and spaces at line ends are trimmed. Malformed HTML never raises:
    the standard-library parser is lenient and whatever text it sees is kept.
    """
    return _collected_text(html, "\t")


def _collected_text(html: str, cell_separator: str) -> str:
    collector = _TextCollector(cell_separator)
    try:
        collector.feed(html)
        collector.close()
    except AssertionError:
        # The standard-library scanner asserts on some malformed declarations ("<![0"); fall back to removing
        # tags with a pattern, block tags becoming line breaks.
        plain = html_lib.unescape(_TAG_RE.sub("", _BLOCK_TAG_RE.sub("\n", html)))
        collector.parts = [plain.replace(_CELL_MARK, " ")]
    lines = [line.strip(" ") for line in "".join(collector.parts).replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _by_part(rows: list[list[str]]) -> list[str] | None:
    """A table whose columns are the report's parts (header "| | Focus 1 | Focus 2 |", then rows such as
    "| HER2 IHC | 1+ | 3+ |"): one line per part and row ("Focus 1: HER2 IHC: 1+"), so that each result
    stays with its part; None when the header row does not name two or more parts."""
    header = [cell.strip() for cell in rows[0]]
    if len(header) < 3 or header[0] or not all(part_label(cell) for cell in header[1:]):
        return None
    return [
        f"{part}: {row[0].strip()}: {row[column].strip()}"
        for column, part in enumerate(header[1:], start=1)
        for row in rows[1:]
        if len(row) > column and row[0].strip() and row[column].strip()
    ]


def html_to_report_text(html: str) -> str:
    """Like :func:`html_to_text`, with table rows written as pipe rows (``| HER2 | 2+ |``), the form the
    narrative reader reads as a table (a tab in plain text is only whitespace); a table whose columns are
    the report's parts is written one line per part and row."""
    out: list[str] = []
    table: list[list[str]] = []
    for line in [*_collected_text(html, _CELL_MARK).split("\n"), ""]:
        if _CELL_MARK in line:
            table.append(line.split(_CELL_MARK))
            continue
        if table:
            parts = _by_part(table)
            piped = ["| " + " | ".join(c.strip() for c in r) + " |" for r in table]
            out += parts if parts is not None else piped
            table = []
        out.append(line)
    return "\n".join(out[:-1])
