"""Wordings of IHC and ISH results as laboratories write them (US, UK and European conventions).

Every function renders exactly what its arguments state; choices between wordings come from the ``rng``
passed in, so a seed reproduces the corpus. Nothing here decides a label (see :mod:`tests.corpus.truth`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.corpus.truth import Ihc, Ish, Staining, dual_group


@dataclass(frozen=True)
class Locale:
    """Spelling and number conventions of one laboratory."""

    comma: bool = False
    uk: bool = False

    def num(self, value: float, decimals: int = 1) -> str:
        text = f"{value:.{decimals}f}"
        return text.replace(".", ",") if self.comma else text

    def pct(self, value: float) -> str:
        text = f"{value:g}"
        return text.replace(".", ",") if self.comma else text

    @property
    def tumour(self) -> str:
        return "tumour" if self.uk else "tumor"

    @property
    def hybridisation(self) -> str:
        return "hybridisation" if self.uk else "hybridization"


STATUS = {0: "negative", 1: "negative", 2: "equivocal", 3: "positive"}
ASSAY_TEXT = {
    "4B5": ["4B5", "clone 4B5", "Ventana PATHWAY anti-HER2/neu (4B5)", "PATHWAY HER2 (4B5)", "4B5, Ventana"],
    "HercepTest": ["HercepTest", "Dako HercepTest", "HercepTest (Dako/Agilent)"],
    "CB11": ["CB11", "clone CB11", "Oracle HER2 Bond IHC System (CB11)", "Leica Oracle (CB11)"],
    "SP3": ["SP3", "clone SP3"],
}


def status_word(score: int, rng: random.Random, loc: Locale) -> str:
    word = STATUS[score]
    if score == 2 and loc.uk and rng.random() < 0.6:
        word = "borderline"
    return rng.choice([word, word.upper(), word.capitalize()])


def score_token(score: int, rng: random.Random, loc: Locale, *, plain: bool = False) -> str:
    """ "2+", "+2", "2 +", "score 2"-style tokens (plain: only the common "n+" / "0")."""
    if score == 0:
        return "0"
    common = f"{score}+"
    if plain:
        return common
    return rng.choice([common, common, common, f"+{score}", f"{score} +"])


def assay_text(assay: str | None, rng: random.Random) -> str | None:
    return rng.choice(ASSAY_TEXT[assay]) if assay else None


def percent(value: float, rng: random.Random, loc: Locale) -> str:
    number = loc.pct(value)
    return rng.choice(
        [
            f"{number}%",
            f"{number} %",
            f"approximately {number}%",
            f"~{number}%",
            f"about {number}%",
            f"{number} percent",
        ]
    )


def cells(rng: random.Random, loc: Locale) -> str:
    return rng.choice(
        [
            f"of invasive {loc.tumour} cells",
            "of tumor cells" if not loc.uk else "of tumour cells",
            "of the invasive carcinoma cells",
            "of cells",
            "of invasive cells",
            f"of the {loc.tumour} cells",
        ]
    )


# ----------------------------------------------------------------------------------------------------
# Staining descriptions


def describe_pattern(kind: str, share: float, rng: random.Random, loc: Locale) -> str:
    """One membrane-staining pattern with its share of cells (kinds as in :class:`Staining`)."""
    pct = percent(share, rng, loc)
    where = cells(rng, loc)
    if kind == "complete_intense":
        phrase = rng.choice(
            [
                "complete, intense, circumferential membrane staining",
                "strong complete membranous staining",
                "intense complete membrane staining",
                "uniform intense circumferential membrane staining",
                "strong, complete membrane staining",
            ]
        )
    elif kind == "complete_weak_moderate":
        phrase = rng.choice(
            [
                "weak to moderate complete membrane staining",
                "moderate complete membrane staining",
                "weak-to-moderate circumferential membranous staining",
            ]
        )
    elif kind == "incomplete_moderate_intense":
        phrase = rng.choice(
            [
                "moderate to intense incomplete (basolateral) membrane staining",
                "strong but incomplete, lateral membrane staining",
            ]
        )
    else:
        phrase = rng.choice(
            [
                "faint, incomplete membrane staining",
                "faint/barely perceptible incomplete membrane staining",
                "weak, partial membrane staining",
                "barely perceptible, incomplete membranous staining",
                "faint incomplete membrane staining",
            ]
        )
    if rng.random() < 0.25:
        return f"{pct} {where} show {phrase}"
    return f"{phrase} in {pct} {where}"


def describe_staining(staining: Staining, rng: random.Random, loc: Locale) -> str:
    """All patterns of a staining description, or a "no staining" statement."""
    parts = [
        describe_pattern(kind, share, rng, loc)
        for kind, share in (
            ("complete_intense", staining.complete_intense),
            ("complete_weak_moderate", staining.complete_weak_moderate),
            ("incomplete_moderate_intense", staining.incomplete_moderate_intense),
            ("incomplete_faint", staining.incomplete_faint),
        )
        if share > 0
    ]
    if not parts:
        return no_staining(rng, loc)
    return "; ".join(parts) if rng.random() < 0.5 else ", with ".join(parts)


def no_staining(rng: random.Random, loc: Locale) -> str:
    return rng.choice(
        [
            "no membrane staining",
            "no staining is observed",
            "absent membrane staining",
            f"0% {cells(rng, loc)} with any membrane staining",
            "complete absence of membranous staining",
            "no membranous immunoreactivity in the invasive carcinoma",
        ]
    )


def components_text(components: tuple[tuple[int, float], ...], rng: random.Random, loc: Locale) -> str:
    """Heterogeneous staining written per score ("3+ in 15 %, 1+ in 70 %", "1+ elsewhere")."""
    *named, last = components
    style = rng.randrange(3)
    parts = []
    for score, share in named:
        pct = percent(share, rng, loc)
        if style == 0:
            parts.append(f"{score}+ in {pct} {cells(rng, loc)}")
        elif style == 1:
            parts.append(f"{pct} {score}+")
        elif score == 3:
            parts.append(f"complete intense staining in {pct} {cells(rng, loc)}")
        else:
            parts.append(f"{score}+ staining in {pct}")
    rest = rng.choice(
        [
            f"{last[0]}+ elsewhere",
            f"{last[0]}+ in the remaining cells",
            f"remainder {last[0]}+",
            f"{last[0]}+ in {percent(last[1], rng, loc)}",
        ]
    )
    return ", ".join([*parts, rest])


def zero_detail(ihc: Ihc, rng: random.Random, loc: Locale) -> str:
    """The null/ultralow statement that follows an IHC 0 ("" when the report says neither)."""
    if ihc.zero == "null":
        return rng.choice(
            [
                ", no staining",
                " (no membrane staining)",
                " (HER2-null)",
                f"; {no_staining(rng, loc)}",
                " - null",
            ]
        )
    if ihc.zero == "ultralow":
        share = ihc.staining.incomplete_faint if ihc.staining else rng.choice([2, 5, 5, 8, 10])
        faint = describe_pattern("incomplete_faint", share, rng, loc)
        return rng.choice(
            [
                f" with membrane staining (faint incomplete staining in {percent(share, rng, loc)} "
                f"{cells(rng, loc)})",
                " (HER2-ultralow)",
                " (>0 <1+, ultralow)",
                f", {describe_pattern('incomplete_faint', share, rng, loc)} (ultralow)",
                " with membrane staining",
                # the next score as the bound the staining falls short of
                f" (>0 <1+), i.e. membrane staining present but below the 1+ threshold - {faint}",
                f" with membrane staining short of the cut-off for 1+ ({faint})",
            ]
        )
    return ""


# ----------------------------------------------------------------------------------------------------
# IHC statements


def ihc_statement(ihc: Ihc, rng: random.Random, loc: Locale, *, european: bool = False) -> str:
    """One IHC result sentence (without a trailing full stop)."""
    if ihc.range_to is not None:
        low = "0" if ihc.score == 0 else f"{ihc.score}+"
        return rng.choice(
            [
                f"HER2 IHC: {low}-{ihc.range_to}+",
                f"HER2 (IHC): NEGATIVE (score {low}-{ihc.range_to}+)"
                if ihc.range_to <= 1
                else f"HER2 IHC {low} to {ihc.range_to}+, ISH to follow",
                f"HER2/neu: {low}/{ihc.range_to}+",
            ]
        )
    assay = assay_text(ihc.assay, rng)
    if ihc.score is None:
        return described_only(ihc, assay, rng, loc)
    score = ihc.score
    token = score_token(score, rng, loc)
    status = status_word(score, rng, loc)
    label = f"HER2 ({assay})" if assay else "HER2"
    templates = [
        f"{label} by IHC: {status} (Score {token})",
        f"HER2/neu immunohistochemistry{f' ({assay})' if assay else ''}: {token}, {status}",
        f"HER2 IHC score: {token} ({status})",
        f"HER2 protein expression by immunohistochemistry{f' ({assay})' if assay else ''}: score {token}",
        f"The invasive carcinoma is {STATUS[score]} for HER2 (IHC score {token})",
        f"Immunostaining for HER2{f' ({assay})' if assay else ''} shows a score of {token} ({status})",
        f"{label}: {token}",
        f"ERBB2 (HER2) IHC{f' [{assay}]' if assay else ''}: {token}",
        f"HER2 status (IHC): {status.upper()}, score {token}",
    ]
    if european and score >= 2:
        plus = "+" * score
        templates.append(f"c-erbB-2{f' ({assay})' if assay else ''}: ({plus})")
        templates.append(f"c-erbB-2 ({plus}), {status}")
    text = rng.choice(templates)
    if score == 0:
        text += zero_detail(ihc, rng, loc)
    elif ihc.staining is not None and rng.random() < 0.8:
        text += rng.choice([". ", "; ", " - "]) + capital(describe_staining(ihc.staining, rng, loc))
    return text


def described_only(ihc: Ihc, assay: str | None, rng: random.Random, loc: Locale) -> str:
    """An IHC read stated only through its staining pattern or per-score shares (no overall score)."""
    if ihc.components:
        body = components_text(ihc.components, rng, loc)
    else:
        assert ihc.staining is not None
        body = describe_staining(ihc.staining, rng, loc)
    opener = rng.choice(
        [
            f"HER2{f' ({assay})' if assay else ''} immunohistochemistry shows ",
            f"HER2 IHC{f' ({assay})' if assay else ''}: ",
            f"Membrane staining for HER2{f' ({assay})' if assay else ''}: ",
            "HER2 staining pattern: ",
        ]
    )
    return opener + body


def staining_grid(staining: Staining, rng: random.Random, loc: Locale) -> list[str]:
    """The staining as an intensity and percentage grid: a row per membrane pattern (a pattern absent from
    the tumour at times listed with a share of 0 %) and a row for the unstained cells."""
    header = rng.choice(
        [
            ("Membrane pattern", "Intensity", "% invasive cells"),
            ("Staining pattern", "Staining intensity", "% of tumour cells"),
            ("Membrane staining", "Intensity", "Percent of cells"),
        ]
    )
    rows = [
        ("Complete", "Strong", staining.complete_intense),
        ("Complete", "Weak to moderate", staining.complete_weak_moderate),
        ("Incomplete", "Moderate to strong", staining.incomplete_moderate_intense),
        ("Incomplete", rng.choice(["Faint/barely perceptible", "Weak", "Faint"]), staining.incomplete_faint),
    ]
    lines = ["| " + " | ".join(header) + " |", "|---|---|---|"]
    shown = [row for row in rows if row[2]]
    for pattern in ("Complete", "Incomplete"):
        if all(row[0] != pattern for row in shown) and rng.random() < 0.5:
            shown.append((pattern, "-", 0.0))
    shown.sort(key=lambda row: row[0] != "Complete")
    for pattern, intensity, share in shown:
        lines.append(f"| {pattern} | {intensity} | {loc.pct(share)}% |")
    rest = 100 - sum(share for _, _, share in rows)
    if rest > 0:
        lines.append(f"| {rng.choice(['No staining', 'None'])} | - | {loc.pct(rest)}% |")
    return lines


def ihc_fields(ihc: Ihc, rng: random.Random, loc: Locale) -> list[str]:
    """An IHC read as separate fields (intensity, completeness, share of cells, score), or the staining as
    an intensity and percentage grid."""
    assay = assay_text(ihc.assay, rng)
    lines = [f"HER2 IMMUNOHISTOCHEMISTRY{f' ({assay})' if assay else ''}"]
    staining = ihc.staining
    if staining is not None and rng.random() < 0.4:
        lines += staining_grid(staining, rng, loc)
    elif staining is not None:
        if staining.complete_intense:
            intensity, completeness, share = "strong", "complete", staining.complete_intense
        elif staining.complete_weak_moderate:
            intensity, completeness, share = "moderate", "complete", staining.complete_weak_moderate
        elif staining.incomplete_moderate_intense:
            intensity, completeness, share = (
                "moderate to strong",
                "incomplete",
                staining.incomplete_moderate_intense,
            )
        elif staining.incomplete_faint:
            intensity, completeness, share = "weak", "incomplete", staining.incomplete_faint
        else:
            intensity, completeness, share = "", "", 0.0
        if intensity:
            lines += [
                f"Staining intensity: {intensity}",
                f"Completeness: {completeness}",
                f"Percentage of positive cells: {loc.pct(share)}%",
            ]
        else:
            lines.append("Membrane staining: none")
    if ihc.score is not None:
        lines.append(f"Score: {score_token(ihc.score, rng, loc, plain=True)}{zero_detail(ihc, rng, loc)}")
        lines.append(f"Interpretation: {STATUS[ihc.score].capitalize()}")
    return lines


def ish_grid(ish: Ish, rng: random.Random, loc: Locale, *, show_group: bool) -> list[str]:
    """ISH results as a laboratory system lists them: a label, spaces, a value."""
    method = "HER2 SISH" if ish.kind == "single" else rng.choice(["HER2 FISH", "HER2 DISH"])
    rows: list[tuple[str, str]] = []
    if ish.ratio is not None:
        rows.append((f"{method} RATIO (HER2/CEP17)", loc.num(ish.ratio, 2)))
    if ish.her2 is not None:
        rows.append(("HER2 COPY NUMBER (MEAN PER CELL)", loc.num(ish.her2)))
    if ish.cep17 is not None:
        rows.append(("CEP17 COPY NUMBER (MEAN PER CELL)", loc.num(ish.cep17)))
    if show_group and ish.group is not None:
        rows.append(("ISH GROUP (ASCO/CAP 2018)", str(ish.group)))
    if ish.amplified is not None:
        rows.append((f"{method} AMPLIFIED", "Yes" if ish.amplified else "No"))
    return [f"{label:<36}{value}" for label, value in rows]


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------------------------------
# ISH statements


def amplified_word(amplified: bool, rng: random.Random) -> str:
    if amplified:
        return rng.choice(
            ["AMPLIFIED", "amplified", "Positive (amplified)", "HER2 gene amplification present"]
        )
    return rng.choice(
        [
            "NOT AMPLIFIED",
            "not amplified",
            "Negative (not amplified)",
            "non-amplified",
            "no HER2 amplification",
        ]
    )


def group_text(group: int, rng: random.Random) -> str:
    roman = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}[group]
    return rng.choice([f"ISH group {group}", f"Group {group}", f"group {group}", f"ASCO/CAP group {roman}"])


def second_count(ish: Ish, rng: random.Random, loc: Locale) -> str | None:
    """The second observer's own numbers, a little off the first count's but in the same group (None when
    no such numbers are found)."""
    if ish.kind != "dual" or ish.ratio is None or ish.her2 is None:
        return None
    group = dual_group(ish.ratio, ish.her2)
    for ratio_step, her2_step in rng.sample([(-0.01, -0.1), (0.01, 0.1), (-0.02, 0.1), (0.02, -0.1)], 4):
        ratio, her2 = round(ish.ratio + ratio_step, 2), round(ish.her2 + her2_step, 1)
        if dual_group(ratio, her2) == group and ratio > 0 and her2 > 0:
            label = rng.choice(
                ["Observer 2 (blinded recount)", "Observer B (blinded)", "Count 2, second observer"]
            )
            return (
                f"{label}, 20 nuclei: HER2 {loc.num(her2)}/cell, ratio {loc.num(ratio, 2)}; "
                f"{rng.choice(['same group', 'group unchanged', 'concordant'])}."
            )
    return None


def recount_text(ish: Ish, group: int | None, rng: random.Random) -> str:
    if ish.recount == "same":
        shown = f" group {group}" if group else " the result"
        return rng.choice(
            [
                f"Recount by a second observer blinded to the first result (20 cells) confirmed{shown}.",
                "A blinded recount by a second observer gave the same result.",
                "An additional 20 cells were counted by a second pathologist with concordant results.",
                f"Second observer count: unchanged ({shown.strip()}).",
                "The count was repeated independently by another pathologist and the result did not change.",
                "Number of observers: 2 (results concordant).",
            ]
        )
    new = ish.recount_group
    return rng.choice(
        [
            f"A blinded recount by a second observer gave group {new}; adjudicated result: group {new}.",
            f"Recount (second observer, blinded): group {new}. After review the final group is {new}.",
        ]
    )


def ish_inline(ish: Ish, rng: random.Random, loc: Locale, *, show_group: bool, interpretation: bool) -> str:
    """A dual- or single-probe ISH result on one or two sentences."""
    method = rng.choice(
        ["HER2 FISH", "HER2 dual ISH", "HER2 SISH", "HER2 (ERBB2) FISH", "HER2 dual-probe ISH", "HER2 DDISH"]
    )
    if ish.kind == "single":
        assert ish.her2 is not None
        method = rng.choice(["HER2 single-probe ISH", "HER2 SISH (single probe)", "HER2 single-probe FISH"])
        text = f"{method}: mean {loc.num(ish.her2)} HER2 signals per nucleus"
        if ish.amplified is not None and interpretation:
            text += f"; {amplified_word(ish.amplified, rng)}"
        return text
    parts = []
    if ish.ratio is not None:
        parts.append(
            rng.choice(
                [
                    f"HER2/CEP17 ratio {loc.num(ish.ratio, 2)}",
                    f"ratio {loc.num(ish.ratio, 2)}",
                    f"HER2:CEP17 = {loc.num(ish.ratio, 2)}",
                    f"HER2/CEP17 ratio of {loc.num(ish.ratio, 2)}",
                ]
            )
        )
    if ish.her2 is not None:
        parts.append(
            rng.choice(
                [
                    f"average HER2 copy number {loc.num(ish.her2)} signals/cell",
                    f"mean HER2 {loc.num(ish.her2)} copies per cell",
                    f"HER2 {loc.num(ish.her2)} signals per nucleus",
                    f"mean HER2 signals per cell: {loc.num(ish.her2)}",
                    # the spread beside the mean
                    f"HER2 {loc.num(ish.her2)} ± {loc.num(0.8)} signals/nucleus "
                    f"(range 1–{int(ish.her2) + 3})",
                ]
            )
        )
    if ish.cep17 is not None:
        parts.append(
            rng.choice(
                [
                    f"average CEP17 {loc.num(ish.cep17)} signals/cell",
                    f"mean CEP17 {loc.num(ish.cep17)} copies per cell",
                    f"CEP17 {loc.num(ish.cep17)} per nucleus",
                ]
            )
        )
    counted = rng.choice(["", " (20 cells counted)", " (40 nuclei scored)", ""])
    text = f"{method}: " + "; ".join(parts) + counted
    group = ish.group
    if interpretation and ish.amplified is not None:
        text += f". {amplified_word(ish.amplified, rng)}"
    if show_group and group is not None:
        text += f" ({group_text(group, rng)})"
    return text


def ish_paired(ish: Ish, loc: Locale) -> str:
    """Two labels and two values: "HER2/CEP17 ratio / mean HER2 copies per cell: 1,6 / 5,7"."""
    assert ish.ratio is not None
    assert ish.her2 is not None
    return (
        f"ISH (dual probe) - HER2/CEP17 ratio / mean HER2 copies per cell: "
        f"{loc.num(ish.ratio, 1)} / {loc.num(ish.her2)}"
    )


def ish_block(ish: Ish, rng: random.Random, loc: Locale, *, show_group: bool) -> list[str]:
    """The CAP template's ISH block, one item per line."""
    lines = [f"HER2 (ERBB2) BY IN SITU {loc.hybridisation.upper()}"]
    probe = "Single probe (HER2 only)" if ish.kind == "single" else "Dual probe (HER2/CEP17)"
    lines.append(f"Probe type: {probe}")
    lines.append(f"Number of invasive {loc.tumour} cells counted: {rng.choice([20, 40, 60])}")
    if ish.her2 is not None:
        lines.append(f"Average number of HER2 signals per cell: {loc.num(ish.her2)}")
    if ish.cep17 is not None:
        lines.append(f"Average number of CEP17 signals per cell: {loc.num(ish.cep17)}")
    if ish.ratio is not None:
        lines.append(f"HER2/CEP17 ratio: {loc.num(ish.ratio, 2)}")
    result = ""
    if ish.amplified is not None:
        result = "Positive (amplified)" if ish.amplified else "Negative (not amplified)"
    if show_group and ish.group is not None:
        result = f"{result} ({group_text(ish.group, rng)})".strip()
    if result:
        lines.append(f"Result: {result}")
    return lines


def ish_pending(rng: random.Random) -> str:
    return rng.choice(
        [
            "Reflex HER2 FISH has been ordered and will be reported in an addendum",
            "HER2 ISH: pending",
            "In situ hybridization to follow",
            "Specimen sent for HER2 FISH; results to follow",
            "HER2 dual ISH is in progress",
        ]
    )


def ish_failed(rng: random.Random) -> str:
    return rng.choice(
        [
            "HER2 FISH: no interpretable signals (hybridisation failure)",
            "HER2 ISH could not be evaluated (insufficient signals in tumour nuclei)",
        ]
    )


def final_line(word: str, detail: str, rng: random.Random) -> str:
    return rng.choice(
        [
            f"FINAL HER2 STATUS: {word.upper()}{detail}",
            f"Overall HER2 result: {word.upper()}{detail}",
            f"HER2 interpretation: {word.capitalize()}{detail}",
            f"Final HER2 result - {word}{detail}",
        ]
    )
