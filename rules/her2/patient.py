"""Patient-level HER2 synthesis: one assessment per test occasion, the current one, and what earlier ones add.

spec/clinical-logic.md §6: classify each specimen and keep its provenance; the most recent specimen by
collection date is current (among specimens of the same date, such as two foci or a breast tumour and its
node from one excision, the one with the highest category); another specimen with a higher category adds a
discordance line; a HER2-low result from an earlier sample stays relevant when a later one reads 0
(ASCO/CAP 2023 asks to consider prior or concurrent samples before concluding IHC 0); amended reports and
addenda replace earlier versions of the same specimen.

Versions of one report are resolved where the versions are known, before the results reach these rules: the
FHIR mapping (``connectors.fhir.mapping``) keeps the latest version of each specimen's report — by Specimen,
else by the report's accession or order and its status (amended, corrected, appended) and issue time — and
carries over the IHC or ISH that only an earlier version states (an ISH addendum to an IHC 2+ report), with a
note. Each result given to :func:`synthesize` is therefore one test occasion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rules.domain import (
    Evidence,
    Her2Assessment,
    Her2Result,
    PatientHer2,
    ReceptorResult,
    SpecimenSite,
    TdxdCategory,
)
from rules.her2.classify import classify, display_category
from rules.hormone import hr_status
from rules.parameters import RULES_VERSION

RANK: dict[TdxdCategory, int] = {
    TdxdCategory.HER2_NULL: 0,
    TdxdCategory.HER2_ZERO_UNSPECIFIED: 1,
    TdxdCategory.HER2_ULTRALOW: 2,
    TdxdCategory.HER2_LOW: 3,
    TdxdCategory.HER2_POSITIVE: 4,
}
"""Order for "highest": NULL < ZERO_UNSPECIFIED < ULTRALOW < LOW < POSITIVE (spec §6); other categories are
unranked."""

_IHC_ZERO = frozenset(
    {TdxdCategory.HER2_NULL, TdxdCategory.HER2_ZERO_UNSPECIFIED, TdxdCategory.HER2_ULTRALOW}
)

_MIN = dt.date.min


def _same_date_priority(assessment: Her2Assessment) -> int:
    """Which of several specimens collected on the same date counts (spec §6): the highest category.

    A positive specimen counts first (a focus or block reading 3+ makes the tumour HER2-positive); then a
    specimen that could not be ranked (pending, equivocal, unreadable: its category could be the highest);
    then the ranked categories from LOW down to NULL.
    """
    rank = RANK.get(assessment.category)
    if rank == RANK[TdxdCategory.HER2_POSITIVE]:
        return len(RANK) + 1
    return len(RANK) if rank is None else rank


def _newest_first_key(assessment: Her2Assessment) -> tuple[dt.date, int, dt.date]:
    """Newest collection date first; among specimens of the same known date, the highest category first;
    then the newest report."""
    result = assessment.result
    collected = result.specimen.collected
    priority = _same_date_priority(assessment) if collected is not None else 0
    return (collected or _MIN, priority, result.reported or _MIN)


def _describe(assessment: Her2Assessment) -> str:
    result = assessment.result
    specimen = result.specimen
    where = [specimen.site.value] if specimen.site is not SpecimenSite.UNKNOWN else []
    if specimen.id:
        where.append(f"specimen {specimen.id}")
    when = specimen.collected.isoformat() if specimen.collected else "date unknown"
    detail = f" ({', '.join(where)})" if where else ""
    return f"{display_category(assessment)} on {when}{detail}"


def _differ(a: TdxdCategory, b: TdxdCategory) -> bool:
    """Whether two ranked categories are discordant (unspecified IHC 0 is compatible with ultralow/null)."""
    if a == b:
        return False
    zero_pair = {a, b} <= _IHC_ZERO and TdxdCategory.HER2_ZERO_UNSPECIFIED in {a, b}
    return not zero_pair


def _discordance(occasions: Sequence[Her2Assessment]) -> tuple[str, ...]:
    """Lines comparing the newest classifiable occasion with every other classifiable one."""
    ranked = [a for a in occasions if a.category in RANK]
    if len(ranked) < 2:
        return ()
    reference, lines = ranked[0], []
    for other in ranked[1:]:
        if not _differ(reference.category, other.category):
            continue
        sites = {reference.result.specimen.site, other.result.specimen.site}
        if sites == {SpecimenSite.PRIMARY, SpecimenSite.METASTASIS}:
            kind = "primary vs metastasis"
        elif reference.result.specimen.collected != other.result.specimen.collected:
            kind = "over time"
        else:
            kind = "between specimens"
        lines.append(f"HER2 discordance ({kind}): {_describe(reference)} vs {_describe(other)}.")
    return tuple(lines)


def synthesize(results: Sequence[Her2Result], receptors: Sequence[ReceptorResult]) -> PatientHer2:
    """Patient-level HER2 picture from all results and ER/PR results (spec/clinical-logic.md §6, §9).

    One assessment per result — each result is one test occasion, as the source delivers it (the FHIR
    mapping keeps the latest version of each report, see the module docstring) — newest first by collection
    date, then (same date) highest category first, then report date. ``current`` is the first; ``highest``
    the occasion with the highest category when it ranks above the current one; ``prior_low`` the newest
    earlier HER2-low occasion; ``discordance`` lines when classifiable occasions differ.
    """
    assessed = [classify(result) for result in results]
    occasions = tuple(sorted(assessed, key=_newest_first_key, reverse=True))
    current = occasions[0] if occasions else None

    highest = None
    current_rank = RANK.get(current.category, -1) if current else -1
    for assessment in occasions:
        rank = RANK.get(assessment.category, -1)
        if rank > current_rank and (highest is None or rank > RANK[highest.category]):
            highest = assessment
    prior_low = next((a for a in occasions[1:] if a.category is TdxdCategory.HER2_LOW), None)

    status, hr_evidence, hr_caveats = hr_status(receptors)
    discordance = _discordance(occasions)
    evidence: list[Evidence] = []
    caveats: list[str] = list(hr_caveats)
    if current is not None:
        evidence.append(
            Evidence(
                statement=f"Current HER2 result: {_describe(current)}; {len(occasions)} test occasion(s) on "
                "file.",
                value=display_category(current),
                source=current.result.source,
            )
        )
    if highest is not None:
        caveats.append(
            f"An earlier or other specimen was {_describe(highest)}: consider it before concluding."
        )
    if prior_low is not None and prior_low is not highest:
        caveats.append(f"Earlier HER2-low result: {_describe(prior_low)}.")
    evidence.extend(hr_evidence)
    return PatientHer2(
        current=current,
        occasions=occasions,
        highest=highest,
        prior_low=prior_low,
        discordance=discordance,
        hr_status=status,
        receptors=tuple(receptors),
        evidence=tuple(evidence),
        caveats=tuple(dict.fromkeys(caveats)),
        rules_version=RULES_VERSION,
    )
