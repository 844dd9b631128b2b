"""Phrase grammar for narrative breast pathology reports: named pieces composed into regular expressions.

The grammar covers the cues listed in ``spec/clinical-logic.md`` §10 and the ASCO/CAP wording of §3–§8
(Wolff et al., JCO 2018;36:2105 and JCO 2023;41:3867; ER/PR: Allison et al., JCO 2020;38:1346). Every pattern
here *recognises* what a report states; nothing here decides a category (that is ``rules.her2``).

Pieces, in the order the extractor applies them to one HER2 statement:

- markers: HER2 aliases (``HER2``, ``HER-2/neu``, ``Her2 neu``, ``c-erbB-2``, ``ERBB2``), ER, PR and other
  markers (Ki-67, AR, …) whose mention ends a HER2 statement;
- methods: IHC words and clones (4B5/PATHWAY/Ventana, HercepTest/Dako, CB11, SP3) and ISH words (FISH, SISH,
  DISH, CISH, dual/single probe, PathVysion, CEP17, ratio, signals, groups, amplification);
- ISH numbers: the HER2/CEP17 ratio, HER2 and CEP17 signals per cell or nucleus, stated group, recounts;
- IHC scores: ranges (``0-1+``, ``1-2+``), ultralow shorthand (``0+``, ``>0 <1+``, ``0 with membrane
  staining``), ``n+`` scores, labelled scores (``score 0``), bare zeros (``(0)``, ``IHC 0``, ``HER2-zero``);
- staining descriptions with percentages (``faint incomplete membrane staining in 5 % of cells``);
- status words, amplification and overexpression phrases, pending and technical-failure cues;
- text that is never a result: the 2023 reporting comment on therapy eligibility, history, control statements,
  and DCIS/LCIS (only the invasive component is scored, §2).
"""

from __future__ import annotations

import re
from typing import Final

from rules.domain import IhcScore, ReportedStatus

_I = re.IGNORECASE

# ----------------------------------------------------------------------------------------------------------
# Markers

#: HER2 and its aliases; ``HER2/CEP17`` starts with a HER2 mention, which is fine (it is a HER2 statement).
HER2: Final = (
    r"(?<![A-Za-z0-9])(?:(?-i:HER|Her|her)-?2(?:\s*[/(-]?\s*neu\)?)?|(?-i:HER)\s2(?:\s*/\s*neu)?|Her2neu|"
    r"c-?erb-?B-?2|erb-?B-?2|ERBB2)(?!\d)"
)
#: Estrogen receptor; the abbreviations are case-sensitive so that "er"/"pr" inside words never match.
ER: Final = (
    r"(?<![A-Za-z0-9])(?:(?-i:ER)(?:-?alpha)?|o?estrogen[\s-]+receptors?(?:[\s-]+alpha)?)(?![A-Za-z0-9])"
)
PR: Final = r"(?<![A-Za-z0-9])(?:(?-i:PR|PgR|PGR)|progesterone[\s-]+receptors?)(?![A-Za-z0-9])"
#: Markers and report items whose mention ends a HER2 statement.
OTHER_MARKER: Final = (
    r"(?<![A-Za-z0-9])(?:Ki-?67|MIB-?1|(?-i:AR)|androgen\s+receptor|p53|p63|CK\s?5/6|E-?cadherin|GATA-?3|"
    r"PD-?L1|TROP-?2|EGFR|Nottingham|mitotic|tubule|margins?)(?![A-Za-z0-9])"
)

HER2_RE: Final = re.compile(HER2, _I)
ER_RE: Final = re.compile(ER, _I)
PR_RE: Final = re.compile(PR, _I)
OTHER_MARKER_RE: Final = re.compile(OTHER_MARKER, _I)

# ----------------------------------------------------------------------------------------------------------
# Methods and assays

#: Words that put the following status words in IHC context.
IHC_WORD: Final = (
    r"\bIHC\b|immunohisto\w*|immuno-?stain\w*|\b4B5\b|Hercep\s?Test|\bCB-?11\b|\bSP3\b|\bscore\b|"
    r"membran\w*|over-?express\w*"
)
#: Words that put the following status words in ISH context (and make a statement a HER2 statement).
ISH_WORD: Final = (
    r"\b(?:F|S|C|D|BD)?ISH\b|in[-\s]situ\s+hybridi[sz]ation|\bprobes?\b|PathVysion|\bINFORM\b|"
    r"\bCEP\s?-?17|\bCEN\s?-?17|\bchr(?:omosome)?\s?-?17|\bratio\b|\bsignals?\b|\bcop(?:y|ies)\b|"
    r"\bgroup\s*[1-5IV]|amplif\w*"
)
IHC_WORD_RE: Final = re.compile(IHC_WORD, _I)
ISH_WORD_RE: Final = re.compile(ISH_WORD, _I)
#: "concurrent IHC 2+" inside an ISH statement names the IHC read with the ISH; it does not change context.
SUBORDINATE_RE: Final = re.compile(r"(?:concurrent|concomitant|corresponding|with)\s+(?:the\s+)?$", _I)
SINGLE_PROBE_RE: Final = re.compile(r"single[-\s]?probe|HER-?2[-\s]only\s+probe", _I)

#: Assays as (canonical name, pattern). The companion diagnostic is VENTANA PATHWAY anti-HER-2/neu (4B5), §8.
ASSAYS: Final = (
    ("4B5", re.compile(r"\b4B5\b|PATHWAY|Ventana(?!\s+(?:INFORM|dual|HER-?2\s+dual))", _I)),
    ("HercepTest", re.compile(r"Hercep\s?Test|\bDako\b|\bA0485\b", _I)),
    ("CB11", re.compile(r"\bCB-?11\b", _I)),
    ("SP3", re.compile(r"\bSP3\b", _I)),
)

# ----------------------------------------------------------------------------------------------------------
# ISH numbers

NUMBER: Final = r"(\d{1,3}(?:\.\d{1,3})?)"
#: A measured number, not a criterion: never directly after a comparison sign, never a score or percentage.
_MEASURED: Final = (
    r"(?<![<>≥≤\d.])(?<![<>≥≤]\s)"
    + NUMBER
    + r"(?![\d+%]|\.\d|\s*%|\s+(?:invasive\s+)?(?:tumou?r\s+)?(?:cells|nuclei)\b)"
)
_CEP17: Final = r"(?:CEP\s?-?17|CEN\s?-?17|chr(?:omosome)?\s?-?17|D17Z1)"

#: "HER2/CEP17 ratio 1.2", "HER2:CEP17 = 1.10", "HER2/Chr17 ratio = 2.35", "ratio of 4.8".
RATIO_RE: Final = re.compile(
    r"(?:HER-?2(?:/neu)?\s*(?:/|:|to)\s*" + _CEP17 + r"(?:\s+signal)?(?:\s+ratio)?|\bratio\b)"
    r"(?:\s*\([^)]{0,30}\))?\s*(?:of|=|:|was|is|-)?\s*(?:of\s+)?" + _MEASURED,
    _I,
)
#: "average CEP17 2.0 signals/cell", "Average number of CEP17 signals per cell: 2.0".
CEP17_RE: Final = re.compile(_CEP17 + r"(?!\s*ratio)[^;,()\d<>≥≤]{0,40}?" + _MEASURED, _I)
#: "average HER2 copy number 2.4", "HER2 mean = 2.2", "average HER2/cell 3.8", "HER2 6.4 signals/cell".
HER2_COPIES_RE: Final = re.compile(
    HER2 + r"(?P<gap>[^;,()\d<>≥≤]{0,40}?)" + _MEASURED + r"(?P<unit>\s*(?:signals?|cop(?:y|ies)|dots)?\s*"
    r"(?:/|per)\s*(?:invasive\s+)?(?:tumou?r\s+)?(?:cell|nucle(?:us|i)))?",
    _I,
)
COPY_WORD_RE: Final = re.compile(r"cop(?:y|ies)|signals?|mean|average|/\s*cell|per\s+cell|nucle", _I)
#: "mean 4.6 copies/cell", "3.1 signals per nucleus", "9.6/cell" (no analyte named: HER2).
PER_CELL_RE: Final = re.compile(
    _MEASURED + r"\s*(?:HER-?2\s*)?(?:signals?|cop(?:y|ies)|dots)?\s*(?:/|per)\s*(?:invasive\s+)?"
    r"(?:tumou?r\s+)?(?:cell|nucle(?:us|i))\b",
    _I,
)
GROUP_RE: Final = re.compile(r"\bgroup\s*[:#]?\s*(V|IV|I{1,3}|[1-5])(?![\w.])", _I)
ROMAN: Final = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
RECOUNT_RE: Final = re.compile(
    r"re-?count\w*|second\s+(?:blinded\s+)?(?:observer|pathologist|reader|count)|additional\s+observer|"
    r"re-?scor\w*",
    _I,
)
CONFIRM_RE: Final = re.compile(r"confirm\w*|agree\w*|concordant|same\s+group|unchanged", _I)
GROUP_CHANGE_RE: Final = re.compile(r"from\s+(?:group\s*)?([1-5])\s+to\s+(?:group\s*)?([1-5])\b", _I)

# ----------------------------------------------------------------------------------------------------------
# IHC scores

_SCORE_DIGIT: Final = r"([0-3])"
#: "0-1+", "1-2+", "0 to 1+", "1+ to 2+", "1+/2+", "0 or 1+".
RANGE_RE: Final = re.compile(
    r"(?<![\w.+/<>-])" + _SCORE_DIGIT + r"\s*\+?\s*(?:-|to|/|or)\s*" + _SCORE_DIGIT + r"\s*\+(?![\d+])", _I
)
#: Ultralow shorthand (§8): "ultralow", "ultra-low", "0+", ">0 <1+", "0 with membrane staining".
ULTRALOW_RE: Final = re.compile(
    r"ultra[-\s]?low|>\s*0\s*%?\s*(?:but|and|,)?\s*<\s*1\s*\+|(?<![\w.+])0\s?\+(?![\d+])|"
    r"(?<![\w.])0\s+with\s+(?:(?:faint|weak|incomplete|partial|barely\s+perceptible|membrane|membranous|"
    r"minimal|focal)[\s,]+)*staining",
    _I,
)
#: The explicit term "HER2-null": IHC 0 without membrane staining (§8), so it states a score of 0.
NULL_TERM_RE: Final = re.compile(HER2 + r"[-\s]?null\b", _I)
#: Null cues (§8): no membrane staining at all ("no staining or faint ... staining in ≤10 %" is the
#: definition of IHC 0, not a description, and is not a null cue).
NULL_RE: Final = re.compile(
    r"HER-?2[-\s]?null|\bnull\b|\bno\s+(?:membrane\s+|membranous\s+|detectable\s+|HER-?2\s+)?"
    r"(?:staining|immunoreactivity|reactivity)(?!\s+or\b)|without\s+(?:any\s+)?(?:membrane\s+|membranous\s+)?staining|"
    r"absence\s+of\s+(?:any\s+)?(?:membrane\s+|membranous\s+)?staining|\babsent\b|completely\s+negative",
    _I,
)
#: "3+", "(2+)", "1 +", "2 plus", "two-plus".
SCORE_PLUS_RE: Final = re.compile(
    r"(?<![\w.+/<>])" + _SCORE_DIGIT + r"\s?(?:\+|-?\s?plus\b)(?![\d+])|\b(zero|one|two|three)[-\s]?plus\b",
    _I,
)
#: "score 0", "Score: 1", "score of 2".
SCORE_LABELLED_RE: Final = re.compile(
    r"\bscore\s*(?:of|=|:|was|is)?\s*\(?" + _SCORE_DIGIT + r"(?![\d%+]|[.,]\d|\s*%|\s*-\s*\d|\s*to\s+\d)", _I
)
#: "(0)", "IHC 0", ": 0", "HER2-0", "HER2 zero", "HER2-zero".
ZERO_BARE_RE: Final = re.compile(
    r"(?:\bIHC|\(|:|=|" + HER2 + r"[-\s]*)\s*0(?![\d%+]|[.,]\d|\s*%|\s*(?:-|to|or)\s*[1-3])|"
    r"(?:" + HER2 + r"|\bIHC|\bscore(?:\s+of)?)[-\s:]*zero\b",
    _I,
)
WORD_SCORES: Final = {
    "0": IhcScore.ZERO,
    "1": IhcScore.ONE_PLUS,
    "2": IhcScore.TWO_PLUS,
    "3": IhcScore.THREE_PLUS,
    "zero": IhcScore.ZERO,
    "one": IhcScore.ONE_PLUS,
    "two": IhcScore.TWO_PLUS,
    "three": IhcScore.THREE_PLUS,
}

# ----------------------------------------------------------------------------------------------------------
# Staining descriptions with percentages (§3)

_DESCRIPTOR: Final = (
    r"(?:complete|incomplete|circumferential|partial|basolateral|lateral|intense|strong|moderate|weak|faint|"
    r"barely\s+perceptible|perceptible|uniform|membrane|membranous|granular|linear|and|to|or)"
)
_DESCRIPTORS: Final = r"\b((?:" + _DESCRIPTOR + r"[\s,/-]+){1,9})"
_PCT: Final = (
    r"(?<![<>≤≥=\d.])(?<![<>≤≥=]\s)(?:approximately|approx\.?|about|around|~|ca\.?)?\s*(\d{1,3}(?:\.\d+)?)\s*"
    r"(?:(?:-|to)\s*(\d{1,3}(?:\.\d+)?)\s*)?%"
)
#: "faint, incomplete membrane staining in 5% of tumor cells", "intense complete staining (3+) in 8%".
STAINING_PCT_RE: Final = re.compile(
    _DESCRIPTORS + r"staining(?:\s*\([0-3]\+\))?(?:\s+(?:is|was)?\s*(?:seen|observed|present|identified))?"
    r"\s*(?:in|of|:)\s*" + _PCT,
    _I,
)
#: "5% of tumour cells show faint incomplete staining", "cells with uniform intense complete staining: 95%".
PCT_STAINING_RE: Final = re.compile(
    _PCT
    + r"\s*(?:of\s+)?(?:(?:invasive|tumou?r|carcinoma|neoplastic)\s+)*cells\s+(?:with|show\w*|demonstrat\w*|"
    r"exhibit\w*|display\w*|had|have)\s+" + _DESCRIPTORS + r"staining",
    _I,
)
INTENSE_RE: Final = re.compile(r"intense|strong", _I)
MODERATE_RE: Final = re.compile(r"moderate", _I)
FAINT_RE: Final = re.compile(r"faint|weak|barely", _I)
COMPLETE_RE: Final = re.compile(r"(?<!in)complete|circumferential", _I)
INCOMPLETE_RE: Final = re.compile(r"incomplete|partial|basolateral|lateral", _I)

# ----------------------------------------------------------------------------------------------------------
# Status words and phrases

_BY_METHOD: Final = r"(?:\s+(?:by|on)\s+(?:dual[-\s]probe\s+|single[-\s]probe\s+)?[\w-]+)?"
#: ISH-negative phrases, tried before :data:`AMP_POS_RE` so that "not amplified" never reads as "amplified".
AMP_NEG_RE: Final = re.compile(
    r"(?:not|non|un|no)[-\s]?amplif\w*|negative\s+for\s+(?:gene\s+)?amplification|without\s+amplification|"
    r"no\s+(?:evidence\s+of\s+)?(?:HER-?2\s+)?(?:gene\s+)?amplification|amplification"
    + _BY_METHOD
    + r"\s*(?::|is|was)?\s*"
    r"(?:not\s+(?:detected|identified|present|seen|observed)|absent)",
    _I,
)
AMP_POS_RE: Final = re.compile(
    r"\bamplified\b|amplification"
    + _BY_METHOD
    + r"\s*(?::|is|was)?\s*(?:detected|present|identified|seen|observed)|"
    r"positive\s+for\s+(?:gene\s+)?amplification",
    _I,
)
OVEREXP_NEG_RE: Final = re.compile(
    r"not\s+over-?express\w*|\bno\s+(?:" + HER2 + r"\s+)?(?:protein\s+)?over-?expression|"
    r"(?:negative\s+for|without)\s+(?:protein\s+)?over-?expression|over-?expression\s*(?::|is|was)?\s*"
    r"(?:not\s+(?:detected|identified|present|seen)|absent)",
    _I,
)
OVEREXP_POS_RE: Final = re.compile(
    r"\bover-?expressed\b|over-?expression\s*(?::|is|was)?\s*(?:detected|present|identified|seen)", _I
)
#: Status words; "weakly positive", "false negative" and the like are not statuses.
STATUS_RE: Final = re.compile(
    r"(?<!weakly\s)(?<!weak\s)(?<!false\s)(?<!false-)(?<!triple\s)(?<!triple-)"
    r"\b(positive|negative|equivocal|indeterminate|uninterpretable|inconclusive|pos|neg)\b(?!\s+control)|"
    + HER2
    + r"(?:\s*\(\s*([+-])\s*\)|([+-])(?=[\s,;.)]|$))",
    _I,
)
STATUS_WORDS: Final = {
    "positive": ReportedStatus.POSITIVE,
    "pos": ReportedStatus.POSITIVE,
    "+": ReportedStatus.POSITIVE,
    "negative": ReportedStatus.NEGATIVE,
    "neg": ReportedStatus.NEGATIVE,
    "-": ReportedStatus.NEGATIVE,
    "equivocal": ReportedStatus.EQUIVOCAL,
    "indeterminate": ReportedStatus.INDETERMINATE,
    "uninterpretable": ReportedStatus.INDETERMINATE,
    "inconclusive": ReportedStatus.INDETERMINATE,
}
PENDING_RE: Final = re.compile(
    r"\bpending\b|to\s+follow|will\s+follow|(?:to|will)\s+be\s+(?:reported|issued|performed|sent|done)|"
    r"reported\s+separately|see\s+(?:the\s+)?(?:addendum|separate\s+report|supplement\w*)|sent\s+(?:out|to)|"
    r"in\s+progress|\bordered\b|\brequested\b|\bawait\w*|forthcoming|not\s+yet\s+(?:available|resulted|reported)",
    _I,
)
#: Pre-analytic or technical failure (§3 "indeterminate").
TECHNICAL_RE: Final = re.compile(
    r"indeterminate|uninterpretable|not\s+interpretable|(?:cannot|could\s+not)\s+be\s+(?:reliably\s+)?"
    r"(?:interpreted|evaluated|assessed|scored|determined)|(?:IHC|ISH|FISH|stain(?:ing)?|test(?:ing)?|assay)\s+failed|crush(?:ing)?\s+artifact|(?:failed|inadequate|unsatisfactory)\s+"
    r"(?:internal\s+|external\s+)?controls?|controls?\s+(?:failed|did\s+not\s+(?:stain|work|perform))|"
    r"(?:insufficient|inadequate)\s+(?:invasive\s+)?(?:tumou?r|tissue|material|cells|cellularity)|"
    r"fixation\s+artifact|(?:poor|inadequate|prolonged|delayed)\s+fixation|decalcifi\w*|edge\s+artifact|"
    r"technical(?:ly)?\s+(?:failure|unsatisfactory|inadequate)|not\s+evaluable|unevaluable|inconclusive",
    _I,
)

# ----------------------------------------------------------------------------------------------------------
# Text that is not a result

#: The 2023 reporting comment on eligibility for therapy targeting low HER2 expression (§7), therapy and trial
#: wording, history and guideline commentary: never read as a result.
NOT_A_RESULT_RE: Final = re.compile(
    r"eligib\w*|deruxtecan|\bT-?DXd\b|enhertu|\bDS-?8201|trastuzumab|pertuzumab|targeted\s+therap\w*|"
    r"therap(?:y|ies)\s+targeting|anti-?HER-?2\s+(?:therap|agent|drug)|(?:may|might|could)\s+(?:indicate|qualify|"
    r"respond|benefit)|treatment\s+with|response\s+to|\bbenefit|efficacy|\bqualif\w*|candidate|\btrials?\b|"
    r"low\s+(?:levels?\s+of\s+)?HER-?2\s+expression|evidence\s+is\s+limited|limited\s+evidence|"
    r"^\W*(?:clinical\s+)?(?:history|hx|indication)\b|\bhistory\s+of\b|\bh/o\b|\bknown\s+HER-?2|"
    r"previously\s+(?:diagnosed|treated)",
    _I,
)
#: Control statements ("appropriate positive and negative controls"): only a failure cue is read from them.
CONTROL_RE: Final = re.compile(r"\bcontrols?\b", _I)
#: Carcinoma in situ (DCIS/LCIS): not scored. "in situ hybridisation" is ISH, not DCIS.
IN_SITU_RE: Final = re.compile(
    r"\bDCIS\b|\bLCIS\b|carcinoma\s+in[-\s]situ|in[-\s]situ\s+(?:carcinoma|component|disease|lesion|portion|"
    r"areas?)|intraductal",
    _I,
)
INVASIVE_RE: Final = re.compile(r"\binvasive\b|\binfiltrating\b", _I)
#: Words that say a statement carries a result, used to tell an unreadable result from a passing mention.
RESULT_VOCAB_RE: Final = re.compile(
    r"positiv|negativ|equivocal|amplif|express|\d\s*\+|\bscore|\bratio|\bgroup\b|ultra|\blow\b|\bzero\b|\bnull\b|"
    r"indetermin|borderline|stain|\bplus\b|(?<![\w./-])[0-3](?![\w./-])|\bneg\b|\bpos\b",
    _I,
)

# ----------------------------------------------------------------------------------------------------------
# Report structure

ACCESSION: Final = r"((?-i:[A-Z]{1,4})-?\d{2,4}-\d{2,7})\b"
PRIOR_RE: Final = re.compile(
    r"\b(?:previous|prior|earlier|outside|original|initial|preceding)\s+"
    r"(?:(?:core|needle|excisional|incisional|punch|surgical|breast)\s+)*"
    r"(?:biops(?:y|ies)|specimens?|samples?|cores?|excisions?|resections?|case|material|lumpectomy|mastectomy)\b",
    _I,
)
ACCESSION_RE: Final = re.compile(r"(?<![\w-])" + ACCESSION, _I)
ISO_DATE_RE: Final = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
CURRENT_RE: Final = re.compile(
    r"\b(?:current|present|this|today'?s)\s+(?:(?:core|needle|excisional|surgical|breast)\s+)*"
    r"(?:biopsy|specimen|sample|excision|resection|case|material|lumpectomy|mastectomy)\b",
    _I,
)
METASTASIS_RE: Final = re.compile(r"\bmetasta(?:tic|sis|ses)\b", _I)
NO_METASTASIS_RE: Final = re.compile(r"\b(?:no|negative\s+for|without|free\s+of)\s+(?:\w+\s+)?metasta", _I)
#: A "FINAL HER2 STATUS" / "Final:" / "Overall result:" statement: preferred over the rest of the report.
FINAL_RE: Final = re.compile(
    r"^[\s*•>-]*(?:" + HER2 + r"\s+)?(?:final|overall)\b[^:\n]{0,40}?[:=]|^[\s*•>-]*(?:final|overall)\s*-", _I
)
#: "Interpretation:", "Conclusion:": a summary statement, stronger than a single test's status.
SUMMARY_RE: Final = re.compile(
    r"^[\s*•>-]*(?:" + HER2 + r"\s+)?(?:interpretation|conclusion|summary|impression|adjudicat\w*)\b", _I
)
ADDENDUM_RE: Final = re.compile(r"^[\s*•>-]*(?:addendum|amendment|amended|revised|corrected)\b", _I)
HEADER_LINE_RE: Final = re.compile(r":\s*$")
ABBREVIATIONS: Final = frozenset({"e.g", "i.e", "approx", "vs", "dr", "no", "fig", "ca", "cf", "nos", "min"})
