"""Whole pathology reports in several house styles, with the distractors real reports carry.

Styles: CAP synoptic template, pipe tables, US free text, UK and European conventions (decimal commas,
"c-erbB-2 (+++)", "borderline"), one-line conclusions and reports whose ISH result comes in an addendum.
Distractors ("traps") never change what the report states about the invasive carcinoma of its own
specimen: DCIS staining, the 2023 eligibility comment, guideline criteria quoted as a legend, ISH group
comments, a clinical history quoting an earlier result, a prior specimen's result, other markers with their
own intensities, control statements and hypothetical reflex-testing sentences.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from tests.corpus import phrases as p
from tests.corpus.truth import Case, Ihc, Ish, Label, label

STYLES = (
    "cap_synoptic",
    "pipe_table",
    "us_free_text",
    "uk",
    "eu",
    "short",
    "addendum",
    "lis_fields",
    "dictated",
    "checklist",
)
TRAPS = (
    "dcis",
    "eligibility",
    "legend",
    "group_comment",
    "history",
    "prior_specimen",
    "other_markers",
    "control",
    "hypothetical",
    "denial",
    "amended",
    "outside_quote",
)


@dataclass(frozen=True)
class Written:
    """A rendered report: its text and what the writer put in it."""

    text: str
    style: str
    traps: tuple[str, ...]


# ----------------------------------------------------------------------------------------------------
# Pieces


def diagnosis(rng: random.Random, loc: p.Locale) -> list[str]:
    grade = rng.choice(["1 (3+1+1=5)", "2 (3+2+2=7)", "3 (3+3+3=9)", "2 (2+2+2=6)"])
    kind = rng.choice(
        ["INVASIVE DUCTAL CARCINOMA", "INVASIVE CARCINOMA OF NO SPECIAL TYPE", "INVASIVE LOBULAR CARCINOMA"]
    )
    site = rng.choice(
        ["LEFT BREAST, 2:00, CORE NEEDLE BIOPSY", "RIGHT BREAST, LUMPECTOMY", "LIVER, CORE BIOPSY"]
    )
    lines = ["FINAL DIAGNOSIS:", f"{site}:", f"  - {kind}, NOTTINGHAM GRADE {grade}."]
    if rng.random() < 0.5:
        lines.append("  - DUCTAL CARCINOMA IN SITU, INTERMEDIATE NUCLEAR GRADE.")
    return lines


def receptors(rng: random.Random, loc: p.Locale, *, intensity_scores: bool) -> list[str]:
    er = rng.choice([0, 5, 60, 90, 95, 100])
    pr = rng.choice([0, 10, 40, 80])
    er_word = "POSITIVE" if er >= 1 else "NEGATIVE"
    pr_word = "POSITIVE" if pr >= 1 else "NEGATIVE"
    oestrogen = "Oestrogen" if loc.uk else "Estrogen"
    if intensity_scores:
        return [
            f"{oestrogen} receptor (ER): {er_word}, {er}% of nuclei, intensity {rng.choice(['2+', '3+'])}",
            f"Progesterone receptor (PR): {pr_word}, {pr}%, intensity {rng.choice(['1+', '2+', '3+'])}",
        ]
    if loc.uk:
        return [
            f"ER: Allred score {8 if er > 60 else 0}/8 ({er_word.lower()})",
            f"PR: {pr_word.lower()} ({pr}%)",
        ]
    return [f"ER: {er_word} ({er}%, strong)", f"PR: {pr_word} ({pr}%, moderate)"]


def other_markers(rng: random.Random) -> list[str]:
    return rng.sample(
        [
            "E-cadherin: positive (intact membranous staining, 3+)",
            f"Ki-67 (MIB-1): {rng.choice([5, 15, 30, 60])}%",
            "p63: negative; CK5/6: negative",
            "Androgen receptor: positive (70%, strong 3+)",
            "GATA3: positive",
        ],
        2,
    )


def nodal_status(rng: random.Random) -> str:
    """The nodes' status after the results: their status word and counts are theirs, not HER2's."""
    total = rng.choice([1, 2, 3, 12, 14])
    involved = rng.choice([0, 0, 1])
    word = "positive" if involved else "negative"
    return rng.choice(
        [
            f"Sentinel node: {word} ({involved}/{total}).",
            f"Sentinel lymph nodes: {word} ({involved}/{total}).",
            f"Axillary lymph nodes: {involved}/{total} {'positive' if rng.random() < 0.5 else 'involved'}.",
            f"Regional lymph nodes: {word} ({involved}/{total}); extranodal extension: not identified.",
        ]
    )


def eligibility(rng: random.Random) -> str:
    return rng.choice(
        [
            "Comment: HER2 IHC 1+ and 2+/ISH-negative results may indicate eligibility for therapy targeting "
            "low levels of HER2 expression (e.g., trastuzumab deruxtecan).",
            "* Note (ASCO/CAP 2023): results of IHC 0 with membrane staining (HER2-ultralow), IHC 1+ or IHC "
            "2+/ISH negative (HER2-low) may be relevant to eligibility for T-DXd.",
            "Footnote: patients with HER2-low (IHC 1+, or 2+ with negative ISH) or HER2-ultralow (IHC 0 with "
            "faint staining in 10% or fewer cells) metastatic breast cancer may benefit from trastuzumab "
            "deruxtecan.",
        ]
    )


def legend(rng: random.Random) -> list[str]:
    return rng.choice(
        [
            [
                "Interpretive criteria (ASCO/CAP 2018):",
                "Positive: IHC 3+ or ISH group 1; groups 2-4 with IHC 3+.",
                "Equivocal: IHC 2+ (reflex ISH).",
                "Negative: IHC 0-1+; ISH group 5; group 3 with IHC 0-1+.",
            ],
            [
                "Scoring guideline: 0 = no staining or faint incomplete staining in <=10% of cells; "
                "1+ = faint incomplete staining in >10%; 2+ = weak to moderate complete staining in >10%; "
                "3+ = complete intense staining in >10% of cells.",
            ],
            [
                "HER2 ISH groups: group 1 (ratio >=2.0, HER2 >=4.0) positive; group 5 (ratio <2.0, "
                "HER2 <4.0) negative; groups 2-4 are reported together with concurrent IHC.",
            ],
        ]
    )


def group_comment(group: int, rng: random.Random) -> str:
    text = {
        2: "there are insufficient data on the efficacy of HER2-targeted therapy in group 2 cancers without "
        "concurrent IHC 3+",
        3: "there are insufficient data on the efficacy of HER2-targeted therapy for group 3 cancers without "
        "IHC 3+",
        4: "it is uncertain whether patients with average HER2 copy numbers of 4.0 to <6.0 signals per cell "
        "benefit from HER2-targeted therapy in the absence of protein overexpression (IHC 3+)",
    }[group]
    return f"Comment: {text}."


def history(rng: random.Random) -> str:
    return rng.choice(
        [
            "CLINICAL HISTORY: Left breast carcinoma 2018, HER2 positive (3+), treated with trastuzumab; new "
            "liver lesion.",
            "Clinical information: history of HER2-negative (score 0) carcinoma of the right breast; "
            "recurrence?",
            "History: previously reported as HER2 2+ with FISH amplification at an outside hospital.",
        ]
    )


def prior_specimen(rng: random.Random, score: int) -> str:
    other = {0: "3+", 1: "3+", 2: "0", 3: "1+"}[score]
    return rng.choice(
        [
            f"HER2 on the prior core biopsy (S24-{rng.randrange(1000, 9999)}): {other}.",
            f"For comparison, previous biopsy S23-{rng.randrange(1000, 9999)} (2023-04-11) was HER2 {other}.",
        ]
    )


def _other_score(score: int) -> str:
    """A score on the other side of a T-DXd category line."""
    return {0: "3+", 1: "3+", 2: "0", 3: "1+"}[score]


def amended(rng: random.Random, score: int) -> str:
    """An amendment note naming the value issued in error (the report's result is the corrected one)."""
    other = _other_score(score)
    return rng.choice(
        [
            f"AMENDED REPORT: the HER2 IHC score was incorrectly reported as {other} in the original report; "
            "the corrected result is given below.",
            f"Correction: the HER2 result first issued ({other}) was reported in error.",
            f"Reason for amendment: transcription error; the original report erroneously gave HER2 {other}.",
        ]
    )


def outside_quote(rng: random.Random, score: int) -> str:
    """An outside or earlier laboratory's result quoted before this report's own."""
    other = _other_score(score)
    return rng.choice(
        [
            f"OUTSIDE DIAGNOSIS: invasive carcinoma, grade 2; HER2 IHC {other}.",
            f"History of breast carcinoma (2019, S19-{rng.randrange(1000, 9999)}). "
            f"HER2 on that primary was reported as {other}.",
            f"Clinical history: carcinoma of the left breast 2020, HER2 {other} at the referring hospital.",
        ]
    )


def post_neoadjuvant(case: Case, rng: random.Random) -> str:
    """A resection after neoadjuvant therapy without residual invasive carcinoma, quoting the case's result
    as the pre-treatment core's: no result of its own (the quoted one does not stand in for it)."""
    assert case.ihc is not None
    assert case.ihc.score is not None
    score = "0" if case.ihc.score == 0 else f"{case.ihc.score}+"
    accession = f"S25-{rng.randrange(1000, 9999)}"
    lines = [
        rng.choice(
            [
                "Specimen: left mastectomy and sentinel nodes following neoadjuvant chemotherapy.",
                "Specimen: right wide local excision after neoadjuvant systemic therapy.",
            ]
        ),
        rng.choice(
            [
                "No residual invasive carcinoma. Residual DCIS, 4 mm. ypT0(is) ypN0.",
                "Pathological complete response: no residual invasive tumour (RCB class 0).",
                "No residual invasive carcinoma identified; tumour bed with fibrosis. ypT0 ypN0.",
            ]
        ),
    ]
    if rng.random() < 0.5:
        lines.append("Biomarkers: not performed on this specimen (no invasive tumour).")
    lines.append(
        rng.choice(
            [
                f"Pre-treatment core biopsy ({accession}): HER2 {score}, ER positive.",
                f"For reference, the pre-treatment core biopsy {accession} was HER2 {score}.",
            ]
        )
    )
    return "\n".join(lines)


def control(rng: random.Random) -> str:
    return rng.choice(
        [
            "External positive control (breast carcinoma with known 3+ expression) stained appropriately.",
            "Controls: positive and negative controls performed with appropriate results.",
        ]
    )


def hypothetical(rng: random.Random) -> str:
    return rng.choice(
        [
            "If HER2 IHC is equivocal (2+), reflex ISH is performed on the same block.",
            "Should the IHC result be 2+, FISH will be performed automatically.",
        ]
    )


def dcis_line(rng: random.Random) -> str:
    return rng.choice(
        [
            "DCIS: HER2 3+ (in situ component, not scored).",
            "The ductal carcinoma in situ shows strong complete membrane staining (3+); only the invasive "
            "carcinoma is scored.",
            "Note: the adjacent DCIS is strongly positive (3+).",
        ]
    )


def final_words(case: Case, truth: Label) -> tuple[str, str] | None:
    """The laboratory's overall line consistent with the truth (None: the report gives none)."""
    if truth is Label.POSITIVE:
        return "positive", ""
    if truth in (Label.LOW_1, Label.LOW_2):
        return "negative", " (HER2-low)"
    if truth is Label.EQUIVOCAL:
        return "equivocal", " - ISH pending"
    if truth in (Label.ULTRALOW, Label.NULL, Label.ZERO):
        return "negative", ""
    return None


def ish_parts(case: Case, rng: random.Random, loc: p.Locale, style: str) -> list[str]:
    ish = case.ish
    if ish is None:
        return []
    if ish.kind == "pending":
        return [p.ish_pending(rng) + "."]
    if ish.kind == "failed":
        return [p.ish_failed(rng) + "."]
    if ish.kind == "statement":
        assert ish.amplified is not None
        method = rng.choice(["HER2 FISH", "HER2 ISH", "HER2 (ERBB2) gene status by SISH"])
        return [f"{method}: {p.amplified_word(ish.amplified, rng)}."]
    show_group = ish.group is not None
    lines: list[str] = []
    if style == "cap_synoptic":
        lines += p.ish_block(ish, rng, loc, show_group=show_group)
    elif style == "lis_fields":
        lines += p.ish_grid(ish, rng, loc, show_group=show_group)
    elif (
        style == "eu"
        and ish.kind == "dual"
        and ish.ratio is not None
        and ish.her2 is not None
        and rng.random() < 0.4
    ):
        lines.append(p.ish_paired(ish, loc))
        if show_group:
            lines.append(f"{p.group_text(ish.group or 0, rng)}.")
    else:
        lines.append(p.ish_inline(ish, rng, loc, show_group=show_group, interpretation=True) + ".")
    return lines + _ish_after(ish, rng, loc)


def _ish_after(ish: Ish, rng: random.Random, loc: p.Locale) -> list[str]:
    """The recount (at times the second observer's own numbers) and, at times, a ratio to another
    chromosome 17 reference probe given for information (not the CEP17 ratio)."""
    lines: list[str] = []
    if ish.recount is not None:
        second = p.second_count(ish, rng, loc) if ish.recount == "same" and rng.random() < 0.3 else None
        lines.append(second or p.recount_text(ish, ish.group, rng))
    if ish.kind == "dual" and rng.random() < 0.1:
        probe = rng.choice(["SMS", "RARA", "D17S122", "TP53"])
        lines.append(
            f"Supplementary chromosome 17 probe (for information only): HER2/{probe} ratio "
            f"{loc.num(rng.choice([1.4, 1.94, 2.21, 2.6]), 2)}."
        )
    return lines


# ----------------------------------------------------------------------------------------------------
# Styles


def _ihc_lines(case: Case, rng: random.Random, loc: p.Locale, style: str, traps: set[str]) -> list[str]:
    if case.failure is not None:
        return [case.failure]
    if case.legacy is not None:
        return [legacy_text(case.legacy, rng)]
    if case.ihc is None:
        return []
    if style == "cap_synoptic" and case.ihc.score is not None and case.ihc.range_to is None:
        return cap_ihc_block(case.ihc, rng, loc)
    if style == "lis_fields" and not case.ihc.components and case.ihc.range_to is None:
        return p.ihc_fields(case.ihc, rng, loc)
    text = p.ihc_statement(case.ihc, rng, loc, european=style == "eu")
    if "dcis" in traps and case.ihc.score is not None and rng.random() < 0.5 and case.ihc.range_to is None:
        traps.discard("dcis")
        text += rng.choice(
            [" in the invasive carcinoma; the DCIS component shows 3+ staining", " (invasive); DCIS 3+"]
        )
    return [text + "."]


def legacy_text(legacy: str, rng: random.Random) -> str:
    if legacy == "negative":
        return rng.choice(
            [
                "HER2: Negative.",
                "HER2/neu (IHC): NEGATIVE.",
                "Receptor status: ER+, PR+, HER2-.",
                "HER2 protein is not overexpressed.",
                "HER2 negative by immunohistochemistry.",
                "c-erbB-2 (-).",
                "HER2: (-).",
                "Immunophenotype: triple negative.",
            ]
        )
    # A bare positive, or a lone "+" sign (positive in some laboratories, 1+ in others): no basis either way.
    return rng.choice(
        [
            "HER2: Positive.",
            "HER2/neu: POSITIVE.",
            "Receptor status: ER-, PR-, HER2+.",
            "c-erbB-2 (+).",
            "HER2: (+).",
        ]
    )


def cap_ihc_block(ihc: Ihc, rng: random.Random, loc: p.Locale) -> list[str]:
    assert ihc.score is not None
    lines = ["HER2 (ERBB2) BY IMMUNOHISTOCHEMISTRY"]
    if ihc.assay:
        lines.append(f"Antibody: {p.assay_text(ihc.assay, rng)}")
    status = p.STATUS[ihc.score].capitalize()
    result = f"Results: {status} (Score {p.score_token(ihc.score, rng, loc, plain=True)})"
    if ihc.score == 0:
        result += p.zero_detail(ihc, rng, loc)
    lines.append(result)
    if ihc.staining is not None:
        lines.append(
            "Percentage of cells with uniform intense complete membrane staining: "
            f"{loc.pct(ihc.staining.complete_intense)}%"
        )
    return lines


@dataclass
class Parts:
    """The pieces of one report, in reading order, before a style lays them out."""

    case: Case
    rng: random.Random
    loc: p.Locale
    head: list[str]
    markers: list[str]
    body: list[str]
    ish: list[str]
    extra: list[str]
    tail: list[str]


def _extra_lines(traps: set[str], score: int, rng: random.Random) -> list[str]:
    """Distractor sentences placed after the results."""
    extra: list[str] = []
    if "dcis" in traps:
        extra.append(dcis_line(rng))
    if "prior_specimen" in traps:
        extra.append(prior_specimen(rng, score))
    if "control" in traps:
        extra.append(control(rng))
    if "hypothetical" in traps:
        extra.append(hypothetical(rng))
    if "other_markers" in traps and rng.random() < 0.5:
        extra.append(nodal_status(rng))
    if "denial" in traps and score != 3:
        extra.append(
            rng.choice(
                [
                    "Note: the tumour is not HER2 3+.",
                    "No intense complete (3+) staining is seen.",
                    "No 3+ or 2+ staining seen." if score < 2 else "No 3+ staining seen.",
                    "No complete or intense (3+) staining identified.",
                ]
            )
        )
    return extra


def render(case: Case, style: str, traps: tuple[str, ...], rng: random.Random) -> Written:
    """One report in ``style`` with ``traps`` (some traps need a case that allows them)."""
    loc = p.Locale(comma=style == "eu", uk=style in ("uk", "eu") and rng.random() < 0.7)
    pending = set(traps)
    truth = label(case)
    score = case.ihc.score if case.ihc is not None and case.ihc.score is not None else 1
    head: list[str] = []
    if "amended" in pending:
        head.append(amended(rng, score))
    if "history" in pending:
        head.append(history(rng))
    if "outside_quote" in pending:
        head.append(outside_quote(rng, score))
    body = _ihc_lines(case, rng, loc, style, pending)
    ish = ish_parts(case, rng, loc, style)
    extra = _extra_lines(pending, score, rng)
    tail: list[str] = []
    final = final_words(case, truth)
    lab_final = case.ish.lab_final if case.ish is not None else None
    if lab_final is not None:
        final = (lab_final, "")
    if final is not None and (rng.random() < 0.6 or lab_final is not None):
        tail.append(p.final_line(*final, rng))
    if "group_comment" in pending and case.ish is not None and case.ish.group in (2, 3, 4):
        tail.append(group_comment(case.ish.group, rng))
    if "eligibility" in pending:
        tail.append(eligibility(rng))
    if "legend" in pending:
        tail += legend(rng)
    markers = receptors(rng, loc, intensity_scores="other_markers" in pending)
    if "other_markers" in pending:
        markers += other_markers(rng)
    parts = Parts(case, rng, loc, head, markers, body, ish, extra, tail)
    return Written(text=_BUILDERS[style](parts), style=style, traps=traps)


def _cap(x: Parts) -> str:
    lines = ["SURGICAL PATHOLOGY REPORT", *x.head, "", *diagnosis(x.rng, x.loc), ""]
    lines += ["BREAST BIOMARKER REPORTING TEMPLATE", "Test(s) performed on block A1 (invasive carcinoma)"]
    lines += [*x.markers, "", *x.body]
    if x.ish:
        lines += ["", *x.ish]
    lines += [*x.extra, *(["", *x.tail] if x.tail else [])]
    return "\n".join(lines)


def _table(x: Parts) -> str:
    rows = ["| Marker | Result |", "|---|---|"]
    for line in x.markers:
        name, _, value = line.partition(":")
        rows.append(f"| {name.strip()} | {value.strip()} |")
    for line in x.body + x.ish:
        name, sep, value = line.partition(":")
        if sep and len(name) < 60:
            rows.append(f"| {name.strip()} | {value.strip().rstrip('.')} |")
        else:
            rows.append(f"| HER2 | {line.rstrip('.')} |")
    return "\n".join([*x.head, "IMMUNOHISTOCHEMISTRY AND ISH", "", *rows, "", *x.extra, *x.tail])


def _prose(x: Parts) -> str:
    intro = x.rng.choice(
        [
            "Immunohistochemical stains were performed on block A2 with appropriate controls.",
            "Biomarker studies were performed on the invasive carcinoma (block B1).",
        ]
    )
    marker_text = "; ".join(m.rstrip(".") for m in x.markers) + "."
    paragraph = " ".join([intro, marker_text, *x.body, *x.ish, *x.extra])
    lines = [*x.head, "", "MICROSCOPIC DESCRIPTION:", paragraph]
    if x.tail:
        lines += ["", *x.tail]
    return "\n".join(lines)


def _uk(x: Parts) -> str:
    lines = [
        *x.head,
        "Specimen: breast core biopsies x 3",
        "Diagnosis: invasive carcinoma (NST), grade 2.",
        "",
    ]
    lines += ["Receptor studies:", *x.markers, *x.body, *x.ish, *x.extra]
    if x.tail:
        lines += ["", *x.tail]
    return "\n".join(lines)


def _short(x: Parts) -> str:
    parts = [m.rstrip(".") for m in x.markers] + [b.rstrip(".") for b in x.body + x.ish]
    opener = x.rng.choice(["Invasive ductal carcinoma, grade 2. ", "Metastatic breast carcinoma. ", ""])
    return "\n".join([*x.head, opener + "; ".join(parts) + ".", *x.extra, *x.tail])


def _addendum(x: Parts) -> str:
    """The ISH result arrives in an addendum; the original text says it is pending."""
    lines = [*x.head, *diagnosis(x.rng, x.loc), "", "BIOMARKERS:", *x.markers, *x.body]
    ihc = x.case.ihc
    if x.ish and ihc is not None and ihc.score == 2:
        lines.append(x.rng.choice(["Reflex FISH to follow.", "HER2 ISH has been requested; see addendum."]))
    lines += x.extra
    if x.ish:
        header = x.rng.choice(["ADDENDUM (HER2 ISH):", "ADDENDUM", "Addendum report - 2026-02-03"])
        lines += ["", header, *x.ish]
    return "\n".join(lines + x.tail)


def _fields(x: Parts) -> str:
    """A laboratory system's result listing: one field per line, no prose."""
    lines = [*x.head, "RESULTS", *x.markers, "", *x.body, *x.ish, *x.extra]
    return "\n".join([*lines, *(["", *x.tail] if x.tail else [])])


_SPOKEN = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SPOKEN_TENS = ("", "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SPOKEN_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip


def spoken(number: int) -> str:
    """A whole number below 101 as a dictating pathologist says it."""
    if number == 100:
        return "one hundred"
    if number < 10:
        return _SPOKEN[number]
    if number < 20:
        return _SPOKEN_TEENS[number - 10]
    tens, units = divmod(number, 10)
    return _SPOKEN_TENS[tens] + (f"-{_SPOKEN[units]}" if units else "")


def dictate(line: str) -> str:
    """A result line as transcribed from dictation: names, scores, shares and decimals in words."""
    line = re.sub(r"(?<![\d.])(\d{1,3})\s*%", lambda m: f"{spoken(int(m.group(1)))} percent", line)
    line = re.sub(
        r"(?<![\d.])(\d{1,2})[.,](\d{1,2})(?![\d.])",
        lambda m: f"{spoken(int(m.group(1)))} point " + " ".join(_SPOKEN[int(d)] for d in m.group(2)),
        line,
    )
    line = re.sub(r"(?<![\w+])([0-3])\s?\+(?![\d+])", lambda m: f"{_SPOKEN[int(m.group(1))]} plus", line)
    line = re.sub(r"\bHER2\b", "HER two", line)
    return re.sub(r"\bCEP17\b", "CEP seventeen", line)


def _dictated(x: Parts) -> str:
    """A transcribed dictation: the HER2 results spoken, receptor lines as typed."""
    lines = [*x.head, "SURGICAL PATHOLOGY REPORT (dictated and transcribed)", *diagnosis(x.rng, x.loc), ""]
    lines += ["Prognostic markers:", *x.markers, *(dictate(line) for line in x.body + x.ish), *x.extra]
    return "\n".join([*lines, *(["", *x.tail] if x.tail else [])])


_CHECKLIST_OPTIONS = ((0, "Negative (Score 0)"), (1, "Negative (Score 1+)"), (2, "Equivocal (Score 2+)"))


def _checklist(x: Parts) -> str:
    """A CAP-style checklist: every IHC category listed, the result's box ticked."""
    ihc = x.case.ihc
    if ihc is None or ihc.score is None or ihc.range_to is not None or ihc.components:
        return _cap(x)
    ticked, empty = x.rng.choice([("_X_", "___"), ("[x]", "[ ]"), ("(X)", "( )")])
    options = [*_CHECKLIST_OPTIONS, (3, "Positive (Score 3+)")]
    box_first = x.rng.random() < 0.5
    rows = [
        f"{ticked if score == ihc.score else empty} {text}"
        if box_first
        else f"{text} {ticked if score == ihc.score else empty}"
        for score, text in options
    ]
    lines = ["SURGICAL PATHOLOGY REPORT", *x.head, "", *diagnosis(x.rng, x.loc), ""]
    lines += ["BREAST BIOMARKER REPORTING TEMPLATE", *x.markers, "", "HER2 (ERBB2) by immunohistochemistry"]
    if ihc.assay:
        lines.append(f"Antibody: {p.assay_text(ihc.assay, x.rng)}")
    lines += rows
    if ihc.score == 0 and ihc.zero != "unstated":
        lines.append(f"HER2 score 0{p.zero_detail(ihc, x.rng, x.loc)}.")
    if x.ish:
        lines += ["", *x.ish]
    lines += [*x.extra, *(["", *x.tail] if x.tail else [])]
    return "\n".join(lines)


_BUILDERS = {
    "dictated": _dictated,
    "checklist": _checklist,
    "lis_fields": _fields,
    "cap_synoptic": _cap,
    "pipe_table": _table,
    "us_free_text": _prose,
    "uk": _uk,
    "eu": _uk,
    "short": _short,
    "addendum": _addendum,
}
