"""A report's coded HER2 result checked against the same report's own text (``spec/clinical-logic.md`` §10).

Structured Observations win over the narrative, with two exceptions this module implements:

- **Contradiction across a T-DXd category line** (coded 0 vs text 3+, coded 1+ vs text 3+, coded null vs text
  ultralow, coded ISH negative vs text amplified): a coding error must not silently move a patient across a
  treatment line, so the occasion is not classified. The result keeps no score, is marked ``unparsed`` (the
  rules make it indeterminate) and carries both excerpts as evidence.
- **Completion**: what the coded Observations lack and the text states is taken from the text, with a note:
  the IHC assay (the label needs an FDA-approved test, §8), the staining percentages, the IHC 0 detail
  (ultralow vs null), the specimen site, and an IHC or ISH result the report codes not at all.

The comparison uses only what both sides state. It needs no rules logic: "across a line" is decided on the
stated values (score 3+ or ISH positive; 1+ or 2+ with negative ISH; 2+ without ISH; 0 ultralow; 0 null).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from connectors.fhir.narrative import PRIOR_SPECIMEN_NOTE
from rules.domain import (
    Her2Result,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshResult,
    ReportedStatus,
    SpecimenSite,
)

_LOW_SCORES = frozenset({IhcScore.ONE_PLUS, IhcScore.TWO_PLUS})


def _ish_final(ish: IshResult | None) -> ReportedStatus | None:
    if ish is None:
        return None
    if ish.reported_final in (ReportedStatus.POSITIVE, ReportedStatus.NEGATIVE):
        return ish.reported_final
    if ish.reported_group == 1:
        return ReportedStatus.POSITIVE
    if ish.reported_group == 5:
        return ReportedStatus.NEGATIVE
    return None


def _score(ihc: IhcResult | None) -> IhcScore | None:
    return ihc.score if ihc is not None and not ihc.is_range else None


def _ihc_across(coded: Her2Result, text: Her2Result) -> bool:
    first, second = _score(coded.ihc), _score(text.ihc)
    if first is None or second is None:
        return False
    if first != second:
        ish_negative = ReportedStatus.NEGATIVE in (_ish_final(coded.ish), _ish_final(text.ish))
        return not ({first, second} <= _LOW_SCORES and ish_negative)
    if first is IhcScore.ZERO and coded.ihc is not None and text.ihc is not None:
        details = {coded.ihc.zero_subtype, text.ihc.zero_subtype} - {IhcZeroSubtype.UNSPECIFIED}
        return len(details) > 1
    return False


def _polarity(result: Her2Result) -> ReportedStatus | None:
    """Positive (IHC 3+ or ISH positive) or negative (IHC 0/1+ without a positive ISH, or ISH negative
    without IHC 3+); None for IHC 2+ without ISH or when no score or ISH is stated."""
    score, final = _score(result.ihc), _ish_final(result.ish)
    if score is IhcScore.THREE_PLUS or final is ReportedStatus.POSITIVE:
        return ReportedStatus.POSITIVE
    if score in (IhcScore.ZERO, IhcScore.ONE_PLUS) or final is ReportedStatus.NEGATIVE:
        return ReportedStatus.NEGATIVE
    return None


def _status_across(coded: Her2Result, text: Her2Result) -> bool:
    """ISH calls that differ, or a bare positive/negative statement on one side against the other's result."""
    finals = {_ish_final(coded.ish), _ish_final(text.ish)}
    if None not in finals and len(finals) > 1:
        return True
    for bare, other in ((coded, text), (text, coded)):
        if _score(bare.ihc) is None and _ish_final(bare.ish) is None:
            stated = bare.reported_status
            polarity = _polarity(other)
            if stated in (ReportedStatus.POSITIVE, ReportedStatus.NEGATIVE) and polarity not in (
                None,
                stated,
            ):
                return True
    return False


def describe(result: Her2Result) -> str:
    """A short statement of what a result says ("IHC 0, ISH negative")."""
    parts = []
    if result.ihc is not None and result.ihc.score is not None:
        detail = f" ({result.ihc.zero_subtype})" if result.ihc.score is IhcScore.ZERO else ""
        parts.append(f"IHC {result.ihc.score}{detail}")
    final = _ish_final(result.ish)
    if final is not None:
        parts.append(f"ISH {final}")
    if result.reported_status is not None and not parts:
        parts.append(f"reported {result.reported_status}")
    return ", ".join(parts) or "no result"


def contradicts(coded: Her2Result, text: Her2Result) -> bool:
    """Whether the coded result and the report text disagree across a T-DXd category line."""
    return _ihc_across(coded, text) or _status_across(coded, text)


def _complete_ihc(coded: IhcResult, text: IhcResult | None, notes: list[str]) -> IhcResult:
    if text is None or text.is_range or text.score != coded.score:
        return coded
    ihc = coded
    if ihc.assay is None and text.assay is not None:
        ihc = replace(ihc, assay=text.assay)
        notes.append(f"IHC assay {text.assay} taken from the report text")
    if ihc.percentages is None and text.percentages is not None:
        ihc = replace(ihc, percentages=text.percentages)
        notes.append("staining percentages taken from the report text")
    if ihc.zero_subtype is IhcZeroSubtype.UNSPECIFIED and text.zero_subtype is not IhcZeroSubtype.UNSPECIFIED:
        ihc = replace(ihc, zero_subtype=text.zero_subtype)
        notes.append(f"IHC 0 detail ({text.zero_subtype}) taken from the report text")
    return ihc


def _complete_ish(coded: IshResult, text: IshResult | None, notes: list[str]) -> IshResult:
    """The coded ISH numbers with what the text adds about the same count: the stated group, the recount, the
    laboratory's final ISH interpretation and whether it is still pending (only when the text's numbers are
    the coded ones)."""
    if text is None or coded.probe is not text.probe:
        return coded
    pairs = ((coded.ratio, text.ratio), (coded.her2_per_cell, text.her2_per_cell))
    if any(a is not None and b is not None and a != b for a, b in pairs) or all(
        a is None or b is None for a, b in pairs
    ):
        return coded
    ish = replace(
        coded,
        cep17_per_cell=coded.cep17_per_cell if coded.cep17_per_cell is not None else text.cep17_per_cell,
        reported_group=coded.reported_group if coded.reported_group is not None else text.reported_group,
        recount_confirmed=coded.recount_confirmed
        if coded.recount_confirmed is not None
        else text.recount_confirmed,
        reported_final=coded.reported_final if coded.reported_final is not None else text.reported_final,
        # The text saying these counts are not final yet (recount outstanding, "preliminary") holds for them.
        pending=coded.pending or (text.pending and coded.reported_final is None),
    )
    if ish != coded:
        notes.append("ISH group, recount or final interpretation taken from the report text")
    return ish


def crosscheck(coded: Her2Result, narrative: Sequence[Her2Result]) -> Her2Result:
    """The coded result, not classified when the report's own text contradicts it, else completed from it.

    ``narrative`` holds the results read from the report's text; results attributed to another (prior)
    specimen are not compared, and of several results of the report's own parts the one the coded result
    agrees with is used.
    """
    candidates = [r for r in narrative if not r.unparsed and r.specimen.description != PRIOR_SPECIMEN_NOTE]
    if not candidates:
        return coded
    # A text with several parts or specimens of its own ("Specimen 1: … 0", "Specimen 2: … 1+"): the coded
    # result is compared with the part it agrees with; it is a contradiction only when it agrees with none.
    text = next((r for r in candidates if not contradicts(coded, r)), candidates[0])
    if contradicts(coded, text):
        note = (
            f"the coded result ({describe(coded)}) and the report's own text ({describe(text)}) disagree "
            "across a T-DXd category line: not classified; review the report (a coding error must not move "
            "the category)"
        )
        excerpt = f"coded: {describe(coded)} ({coded.source}); report text: {text.excerpt or describe(text)}"
        return replace(
            coded,
            ihc=None,
            ish=None,
            reported_status=None,
            unparsed=True,
            excerpt=excerpt,
            notes=(note, *coded.notes),
        )
    notes = list(coded.notes)
    ihc = coded.ihc
    if ihc is None and text.ihc is not None:
        ihc = text.ihc
        notes.append("IHC result taken from the report text (not coded)")
    elif ihc is not None:
        ihc = _complete_ihc(ihc, text.ihc, notes)
    ish = coded.ish
    if ish is None and text.ish is not None:
        ish = text.ish
        notes.append("ISH result taken from the report text (not coded)")
    elif ish is not None:
        ish = _complete_ish(ish, text.ish, notes)
    specimen = coded.specimen
    if specimen.site is SpecimenSite.UNKNOWN and text.specimen.site is not SpecimenSite.UNKNOWN:
        specimen = replace(specimen, site=text.specimen.site)
        notes.append(f"specimen site ({text.specimen.site}) taken from the report text")
    return replace(
        coded,
        ihc=ihc,
        ish=ish,
        specimen=specimen,
        reported_status=coded.reported_status or text.reported_status,
        excerpt=coded.excerpt or text.excerpt,
        notes=tuple(dict.fromkeys(notes)),
    )
