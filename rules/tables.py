"""A small decision-table engine: guideline logic held as data, evaluated by one function.

A :class:`DecisionTable` is a list of :class:`Row` objects. Each row has an id, a tuple of :class:`Condition`
objects on named input facts, an outcome, the guideline reference it encodes and, optionally, a caveat the
clinician should read when the row decides. :func:`evaluate` reads the rows top to bottom and returns the
first row whose conditions all hold (first match wins) together with its outcome, so the evidence trail, the
tests and the documentation page (:func:`render_markdown`) all come from the same rows.

A condition on a fact that is not stated (``None``) never holds, except :attr:`Op.ABSENT`: a missing number
never satisfies a threshold. A row without conditions is the table's "otherwise" row.

Standard library only; no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from rules.domain import StrEnum
from rules.errors import RulesError

OutcomeT = TypeVar("OutcomeT")
"""The outcome type of a table (an enum or a small frozen value with a readable ``str``)."""


class Op(StrEnum):
    """Comparison operators a condition may use; the value is the symbol shown on the documentation page."""

    EQ = "="
    IN = "one of"
    GT = ">"
    GE = "≥"
    LT = "<"
    LE = "≤"
    ABSENT = "not stated"
    PRESENT = "stated"
    MENTIONS = "mentions"


def format_value(value: object, unit: str = "") -> str:
    """A fact value for people: enums by their wire value, booleans as yes/no, numbers with their unit."""
    if value is None:
        text = "not stated"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, Enum):
        text = str(value.value)
    elif isinstance(value, float):
        text = f"{value:.1f}" if value == int(value) else f"{value:g}"
    else:
        text = str(value)
    if unit and isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{text} {unit}" if unit == "%" else f"{text}{unit}"
    return text


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on one input fact, such as ``ratio ≥ 2.0`` or ``IHC score one of 0, 1+``.

    ``value`` is a single value for ``EQ`` and the numeric comparisons, a tuple for ``IN`` and ``MENTIONS``
    (words matched case-insensitively inside a text fact), and unused for ``ABSENT``/``PRESENT``.
    """

    fact: str
    op: Op
    value: object = None

    def __post_init__(self) -> None:
        if self.op in (Op.IN, Op.MENTIONS) and not (isinstance(self.value, tuple) and self.value):
            raise RulesError(f"Condition on {self.fact!r}: {self.op.name} needs a non-empty tuple of values")
        if self.op in (Op.GT, Op.GE, Op.LT, Op.LE) and not _is_number(self.value):
            raise RulesError(f"Condition on {self.fact!r}: {self.op.name} needs a number, got {self.value!r}")

    def holds(self, actual: object) -> bool:
        """Whether the fact value ``actual`` satisfies this condition (``None`` only satisfies ``ABSENT``)."""
        if self.op is Op.ABSENT:
            return actual is None
        if actual is None:
            return False
        if self.op is Op.PRESENT:
            return True
        if self.op is Op.EQ:
            return _same(actual, self.value)
        if self.op is Op.IN:
            assert isinstance(self.value, tuple)
            return any(_same(actual, candidate) for candidate in self.value)
        if self.op is Op.MENTIONS:
            assert isinstance(self.value, tuple)
            return isinstance(actual, str) and any(str(word).lower() in actual.lower() for word in self.value)
        return _compare(self.op, actual, self.value)

    def describe(self, unit: str = "") -> str:
        """The condition without its fact name, as shown in a table cell (``"≥ 2.0"``, ``"0 or 1+"``)."""
        if self.op in (Op.ABSENT, Op.PRESENT):
            return str(self.op.value)
        if self.op is Op.EQ:
            return format_value(self.value, unit)
        if self.op is Op.IN:
            assert isinstance(self.value, tuple)
            return " or ".join(format_value(v, unit) for v in self.value)
        if self.op is Op.MENTIONS:
            assert isinstance(self.value, tuple)
            return "mentions " + " or ".join(f"“{v}”" for v in self.value)
        return f"{self.op.value} {format_value(self.value, unit)}"


def _same(actual: object, expected: object) -> bool:
    """Equality that keeps booleans apart from numbers (``True`` is not ``1`` here)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return actual == expected


def _compare(op: Op, actual: object, limit: object) -> bool:
    if not (_is_number(actual) and _is_number(limit)):
        return False
    a = float(actual)  # type: ignore[arg-type]
    b = float(limit)  # type: ignore[arg-type]
    return {Op.GT: a > b, Op.GE: a >= b, Op.LT: a < b, Op.LE: a <= b}[op]


# Short constructors, so that tables read like the guideline text.
def eq(fact: str, value: object) -> Condition:
    """``fact = value``."""
    return Condition(fact, Op.EQ, value)


def one_of(fact: str, *values: object) -> Condition:
    """``fact`` is one of ``values``."""
    return Condition(fact, Op.IN, tuple(values))


def gt(fact: str, limit: float) -> Condition:
    """``fact > limit`` (strict)."""
    return Condition(fact, Op.GT, limit)


def ge(fact: str, limit: float) -> Condition:
    """``fact ≥ limit``."""
    return Condition(fact, Op.GE, limit)


def lt(fact: str, limit: float) -> Condition:
    """``fact < limit`` (strict)."""
    return Condition(fact, Op.LT, limit)


def le(fact: str, limit: float) -> Condition:
    """``fact ≤ limit``."""
    return Condition(fact, Op.LE, limit)


def absent(fact: str) -> Condition:
    """``fact`` is not stated."""
    return Condition(fact, Op.ABSENT)


def present(fact: str) -> Condition:
    """``fact`` is stated (any value)."""
    return Condition(fact, Op.PRESENT)


def mentions(fact: str, *words: str) -> Condition:
    """The text ``fact`` contains one of ``words`` (case-insensitive)."""
    return Condition(fact, Op.MENTIONS, tuple(words))


@dataclass(frozen=True, slots=True)
class Fact:
    """One input column of a table: its key in the facts mapping, a label for people, its unit (if any)."""

    name: str
    label: str
    unit: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Row(Generic[OutcomeT]):
    """One rule: when every condition holds, ``then`` is the outcome.

    ``ref`` cites the guideline statement the row encodes (or names it an engine rule); ``caveat`` is shown to
    the clinician whenever the row decides.
    """

    id: str
    when: tuple[Condition, ...]
    then: OutcomeT
    ref: str
    caveat: str | None = None

    def __post_init__(self) -> None:
        if not self.id.strip():
            raise RulesError("Row.id must not be empty")
        if not self.ref.strip():
            raise RulesError(f"Row {self.id!r} needs a guideline reference")

    def matches(self, facts: Mapping[str, object]) -> bool:
        """Whether all conditions hold for ``facts``."""
        return all(condition.holds(facts[condition.fact]) for condition in self.when)


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionTable(Generic[OutcomeT]):
    """A decision table: rows read top to bottom, first match wins.

    ``id`` is a stable slug (used in evidence tags ``<table id>#<row id>``); ``title`` and ``purpose`` are
    shown to people; ``facts`` declares the inputs, in column order. An ``exhaustive`` table must decide every
    input: when no row matches, :func:`evaluate` raises :class:`RulesError` (a gap in the table is a
    programming error). ``describe_outcome`` renders an outcome for people (``str`` by default).
    """

    id: str
    title: str
    purpose: str
    facts: tuple[Fact, ...]
    rows: tuple[Row[OutcomeT], ...]
    exhaustive: bool = True
    describe_outcome: Callable[[OutcomeT], str] = field(default=format_value)

    def __post_init__(self) -> None:
        if not self.rows:
            raise RulesError(f"table {self.id!r} has no rows")
        ids = [row.id for row in self.rows]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise RulesError(f"table {self.id!r} has duplicate row ids: {', '.join(duplicates)}")
        names = {f.name for f in self.facts}
        if len(names) != len(self.facts):
            raise RulesError(f"table {self.id!r} declares a fact twice")
        for row in self.rows:
            unknown = sorted({c.fact for c in row.when} - names)
            if unknown:
                raise RulesError(
                    f"table {self.id!r} row {row.id!r} uses undeclared facts: {', '.join(unknown)}"
                )

    def fact(self, name: str) -> Fact:
        """The declared input ``name``."""
        for item in self.facts:
            if item.name == name:
                return item
        raise RulesError(f"table {self.id!r} has no fact {name!r}")

    def row(self, row_id: str) -> Row[OutcomeT]:
        """The row with id ``row_id``."""
        for item in self.rows:
            if item.id == row_id:
                return item
        raise RulesError(f"table {self.id!r} has no row {row_id!r}")

    def tag(self, row: Row[OutcomeT]) -> str:
        """The stable tag ``<table id>#<row id>`` used in evidence and on the documentation page."""
        return f"{self.id}#{row.id}"


@dataclass(frozen=True, slots=True)
class Decision(Generic[OutcomeT]):
    """The outcome of one table evaluation, the row that fired, and the facts it was evaluated on."""

    table: DecisionTable[OutcomeT]
    row: Row[OutcomeT]
    outcome: OutcomeT
    facts: Mapping[str, object]

    @property
    def tag(self) -> str:
        """``<table id>#<row id>`` of the row that fired."""
        return self.table.tag(self.row)

    def explain(self) -> str:
        """A readable line: the facts the row tested, and the outcome (``"…: ISH group: 5 → negative"``)."""
        used: list[str] = []
        for condition in self.row.when:
            fact = self.table.fact(condition.fact)
            text = f"{fact.label}: {format_value(self.facts[fact.name], fact.unit)}"
            if text not in used:
                used.append(text)
        reason = ", ".join(used) if used else "otherwise"
        return f"{self.table.title}: {reason} → {self.table.describe_outcome(self.outcome)}"


def evaluate(table: DecisionTable[OutcomeT], facts: Mapping[str, object]) -> Decision[OutcomeT] | None:
    """Evaluate ``table`` on ``facts``: the first row whose conditions all hold, with its outcome.

    ``facts`` must give exactly the declared inputs (``None`` for "not stated"); a missing or unknown key
    raises :class:`RulesError`. Returns ``None`` when no row matches a non-exhaustive table; an exhaustive
    table raises.
    """
    declared = {f.name for f in table.facts}
    missing = sorted(declared - facts.keys())
    extra = sorted(facts.keys() - declared)
    if missing or extra:
        raise RulesError(f"table {table.id!r}: missing facts {missing}, unknown facts {extra}")
    frozen = dict(facts)
    for row in table.rows:
        if row.matches(frozen):
            return Decision(table, row, row.then, frozen)
    if table.exhaustive:
        shown = ", ".join(f"{k}={v!r}" for k, v in frozen.items())
        raise RulesError(f"exhaustive table {table.id!r} has no row for {shown}")
    return None


def decide(table: DecisionTable[OutcomeT], facts: Mapping[str, object]) -> Decision[OutcomeT]:
    """:func:`evaluate` for an exhaustive table, typed as always deciding."""
    if not table.exhaustive:
        raise RulesError(f"decide() needs an exhaustive table; {table.id!r} is not")
    decision = evaluate(table, facts)
    assert decision is not None
    return decision


# ------------------------------------------------------------------------------------------------------------
# Documentation page


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row_cells(table: DecisionTable[OutcomeT], row: Row[OutcomeT]) -> list[str]:
    cells: list[str] = []
    for fact in table.facts:
        parts = [c.describe(fact.unit) for c in row.when if c.fact == fact.name]
        cells.append(" and ".join(parts) if parts else "—")
    return cells


def render_table(table: DecisionTable[OutcomeT]) -> str:
    """One table as Markdown: inputs as columns, one line per row with outcome, caveat and reference."""
    has_caveats = any(row.caveat for row in table.rows)
    header = ["row", *(f.label for f in table.facts), "→ outcome"]
    if has_caveats:
        header.append("caveat shown")
    header.append("reference")
    lines = [
        f"## {table.title}",
        "",
        f"`{table.id}` — {table.purpose}",
        "",
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in table.rows:
        cells = [f"`{row.id}`", *_row_cells(table, row), f"**{table.describe_outcome(row.then)}**"]
        if has_caveats:
            cells.append(row.caveat or "")
        cells.append(row.ref)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if not table.exhaustive:
        lines += ["", "When no row applies, the table gives no outcome."]
    return "\n".join(lines) + "\n"


def render_markdown(
    tables: Iterable[DecisionTable[Any]], *, title: str | None = None, preface: str = ""
) -> str:
    """A clinician-readable page of decision tables (pure: returns the text; the caller writes it)."""
    parts: list[str] = []
    if title:
        parts.append(f"# {title}\n")
    if preface:
        parts.append(preface.rstrip() + "\n")
    parts.append(
        "How to read the tables: rows are read from top to bottom and the first row whose conditions all "
        "hold decides. “—” means any value; a number that is not stated never meets a threshold. Evidence "
        "lines name the row that fired as `table#row`.\n"
    )
    parts.extend(render_table(table) for table in tables)
    return "\n".join(parts)
