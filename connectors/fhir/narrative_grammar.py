"""Phrase grammar for narrative breast pathology reports: named pieces composed into regular expressions.

The grammar covers the cues listed in ``spec/clinical-logic.md`` §10 and the ASCO/CAP wording of §3–§8
(Wolff et al., JCO 2018;36:2105 and JCO 2023;41:3867; ER/PR: Allison et al., JCO 2020;38:1346). Every pattern
here *recognises* what a report states; nothing here decides a category (that is ``rules.her2``). Text reaches
these patterns normalised by :mod:`connectors.fhir.narrative_text` (decimal points, ``≥``/``≤``, ASCII
dashes, ``%``), so each pattern needs one spelling of numbers and signs.

Pieces, in the order the extractor applies them to one HER2 statement:

- markers: HER2 aliases (``HER2``, ``HER-2/neu``, ``Her2 neu``, ``c-erbB-2``, ``ERBB2``), ER, PR and other
  markers (Ki-67, E-cadherin, AR, Nottingham grade …) whose mention ends a HER2 statement;
- methods: IHC words and clones (4B5/PATHWAY/Ventana, HercepTest/Dako, CB11/Oracle, SP3) and ISH words (FISH,
  SISH, DISH, CISH, dual/single probe, PathVysion, CEP17, ratio, signals, groups, amplification);
- ISH numbers: the HER2/CEP17 ratio, HER2 and CEP17 signals per cell or nucleus, stated group, recounts;
- IHC scores: ranges (``0-1+``, ``1-2+``), ultralow shorthand (``0+``, ``>0 <1+``), ``n+``/``+n``/``(+++)``
  scores, labelled scores (``score 2``, ``IHC 2``, ``2/3``), bare zeros (``(0)``, ``HER2-zero``); scores
  tied to a share of cells (``3+ in 15 %``, ``1+ elsewhere``) are *components* of a heterogeneous read;
- staining descriptions with shares of cells (``faint incomplete membrane staining in 5 % of cells``,
  ``the majority of cells show strong complete staining``);
- status words, amplification and overexpression phrases, pending and technical-failure cues.
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
    r"(?<![A-Za-z0-9])(?:(?-i:HER|Her)[-\s]?2(?:\s*[/(-]?\s*neu\)?)?|(?-i:her)-?2(?:\s*[/(-]?\s*neu\)?)?|"
    # A report in lower case spells "her 2" (the pronoun "her 2 sisters" is followed by no HER2 word).
    r"(?-i:her)\s2(?:\s*[/(-]?\s*neu\)?)?(?=\s*(?:by|ihc|ish|fish|sish|cish|ddish|status|score|result|protein|"
    r"gene|immuno\w*|test\w*|expression|positive|negative|equivocal|borderline|amplif\w*|not\s+amplif|"
    r"is\s+(?:zero|one|two|three|[0-3]\b)|zero|[0-3]\s*\+|[:=(]))|"
    r"Her2neu|c-?erb-?\s?B-?2|erb-?B-?2|ERBB2)(?!\d)"
)
#: Estrogen and progesterone receptors ("er"/"pr" only as whole words: a word boundary counts accented
#: letters, so "PRÓXIMO" holds no PR and "METÁSTASIS" no MET).
ER: Final = r"(?<!\w)(?:ER(?:-?alpha)?|o?estrogen[\s-]+receptors?(?:[\s-]+alpha)?)(?!\w)"
PR: Final = r"(?<!\w)(?:PR|PgR|progesterone[\s-]+receptors?)(?!\w)"
#: Markers and report items whose mention ends a HER2 statement (their scores and intensities are theirs).
OTHER_MARKER: Final = (
    r"(?<!\w)(?:Ki-?67|MIB-?1|(?-i:AR)|androgen\s+receptors?|p53|p63|p120|CK\s?5/6|CK\s?\d+|"
    r"cytokeratins?|E-?cadherin|GATA-?3|TRPS1|SOX-?10|mammaglobin|GCDFP\S*|PD-?L1|TROP-?2|EGFR|Allred|"
    r"H-?score|quick\s?score|Nottingham|(?:histologic(?:al)?\s+|nuclear\s+|tumou?r\s+)?grade|tubules?|"
    r"tubule\s+formation|pleomorphism|mitotic|mitos[ie]s|margins?|lymphovascular|LVI|TILs?|"
    r"lymph\s+nodes?\s+(?:examined|involved)|\d\+\d\+\d|"
    # the nodal status as an item of its own ("Sentinel node: negative (0/1)", "Axillary lymph nodes: 0/12
    # positive"): at the start of a clause, its status and counts are the nodes'
    r"^(?:(?:sentinel|axillary|regional|non-?sentinel)\s+)*(?:lymph\s+)?(?:nodes?|nodal\s+status)\b"
    r"(?!\s+metasta)|"
    # Other genes tested by ISH or sequencing: their amplification is theirs. In a report written in capitals
    # "MET" after a negation, a verb or "criteria" is the verb ("ULTRALOW CRITERIA NOT MET"), not the gene.
    r"(?-i:C?-?MYC|CCND1|FGFR[1-4]|TOP2A|PIK3CA|ESR1|BRCA[12]|PTEN|AKT1|CDK[46]|MDM2|ERBB3|ERBB4|"
    r"(?<!NOT\s)(?<!BE\s)(?<!IS\s)(?<!ARE\s)(?<!WAS\s)(?<!WERE\s)(?<!BEEN\s)(?<!CRITERIA\s)(?<!CRITERION\s)"
    r"(?<!FULLY\s)(?<!ALL\s)MET|ALK|ROS1|"
    r"KRAS|BRAF|NTRK[1-3]?|TP53|PALB2|CDH1))(?!\w)"
)

HER2_RE: Final = re.compile(HER2, _I)
#: HER2 antibodies and kits: a statement that names one is a HER2 statement ("HercepTest score 2+").
HER2_ASSAY_RE: Final = re.compile(r"Hercep\s?Test|\b4B5\b|\bCB-?11\b|\bSP3\b|\bA0485\b", _I)
ER_RE: Final = re.compile(ER, _I)
PR_RE: Final = re.compile(PR, _I)
OTHER_MARKER_RE: Final = re.compile(OTHER_MARKER, _I)

# ----------------------------------------------------------------------------------------------------------
# Methods and assays

#: Words that put the following status words in IHC context.
IHC_WORD: Final = (
    r"\bIHC\b|immunohisto\w*|immuno-?stain\w*|immunoreactiv\w*|\b4B5\b|Hercep\s?Test|\bCB-?11\b|\bSP3\b|"
    r"\bOracle\b|\bscore\b|membran\w*|over-?express\w*|\bprotein\b"
)
#: Words that put the following status words in ISH context (and make a statement a HER2 statement).
ISH_WORD: Final = (
    r"\b(?:F|S|C|D|DD|BD|IQ)?ISH\b|in[-\s]situ\s+hybridi[sz]ation|hybridi[sz]ation|\bprobes?\b|PathVysion|"
    r"ZytoLight|\bINFORM\b|\bCEP\s?-?17|\bCEN\s?-?17|\bchr(?:omosome)?\s?-?17|centromer\w*|\bratio\b|"
    r"\bsignals?\b|\bcop(?:y|ies)\b|\bgroup\s*[1-5IV]|amplif\w*|\bgene\b|"
    r"(?:/|\bper\s+)\s*(?:tumou?r\s+)?nucle(?:us|i)\b|\bHER-?2\s*/\s*cell\b"  # "average HER2/nucleus: 4.6"
)
IHC_WORD_RE: Final = re.compile(IHC_WORD, _I)
ISH_WORD_RE: Final = re.compile(ISH_WORD, _I)
#: "concurrent IHC 2+" inside an ISH statement names the IHC read with the ISH; it does not change context.
SUBORDINATE_RE: Final = re.compile(r"(?:concurrent|concomitant|corresponding|with|and)\s+(?:the\s+)?$", _I)
SINGLE_PROBE_RE: Final = re.compile(r"single[-\s]?probe|HER-?2[-\s]only\s+probe|without\s+CEP\s?-?17", _I)

#: Assays as (canonical name, pattern). The companion diagnostic is VENTANA PATHWAY anti-HER-2/neu (4B5), §8.
ASSAYS: Final = (
    ("4B5", re.compile(r"\b4B5\b|PATHWAY|Ventana(?!\s+(?:INFORM|dual|HER-?2\s+dual|DDISH|SISH))", _I)),
    ("HercepTest", re.compile(r"Hercep\s?Test|\bDako\b|\bA0485\b|\bAgilent\b", _I)),
    ("CB11", re.compile(r"\bCB-?11\b|\bOracle\b", _I)),
    ("SP3", re.compile(r"\bSP3\b", _I)),
)

# ----------------------------------------------------------------------------------------------------------
# ISH numbers

NUMBER: Final = r"(\d{1,3}(?:\.\d{1,3})?)"
#: A measured number, not a criterion: never directly after a comparison sign, never a score or percentage.
_MEASURED: Final = (
    r"(?<![A-Za-z<>≥≤\d.])(?<![A-Za-z]-)(?<![<>≥≤]\s)(?<!\bthan\s)"
    + NUMBER
    + r"(?![\d+%]|\.\d|\s*%|\s+(?:invasive\s+)?(?:tumou?r\s+)?(?:cells|nuclei)\b|\s*/\s*[0-3]\b(?!\.)|"
    + r"\s+(?:CEP\s?-?17|CEN\s?-?17|chromosome\s+17|centromer))"  # "… and 42 CEP17 signals": CEP17's number
)
_CEP17: Final = (
    r"(?:CEP\s?-?17|CEN\s?-?17|chr(?:omosome)?\s?-?17(?:\s+centromer\w*)?|centromer\w*(?:\s+(?:probe\s+)?"
    r"(?:of\s+)?(?:chromosome\s+)?17)?|D17Z1|chromosome\s+enumeration\s+probe(?:\s+17)?)"
)

#: "HER2/CEP17 ratio 1.2", "HER2:CEP17 = 1.10", "ratio of HER2 to CEP17: 2.3", "ratio of 4.8".
RATIO_RE: Final = re.compile(
    r"(?:HER-?2(?:/neu)?(?:\s+gene)?\s*(?:/|:|to)\s*" + _CEP17 + r"(?:\s+signals?)?(?:\s+ratio)?|"
    r"\bratio\b(?:\s+(?:of\s+)?HER-?2\s*(?:/|:|to)\s*" + _CEP17 + r")?)"
    r"(?:\s*\([^)]{0,30}\))?\s*(?:of|=|:|was|is|-)?\s*(?:of\s+)?" + _MEASURED,
    _I,
)
#: A count's spread stated beside its mean ("2.9 ± 0.8 signals/nucleus (range 1–5)", "SD 0.6"): no mean.
SPREAD_RE: Final = re.compile(
    r"(?:±|\+/-|\+-)\s*\d{1,2}(?:\.\d+)?|\b(?:SD|s\.d\.|standard\s+deviation)\s*[:=]?\s*\d{1,2}(?:\.\d+)?|"
    r"\(?\s*range\s*[:=]?\s*\d{1,2}(?:\.\d+)?\s*(?:-|–|to)\s*\d{1,2}(?:\.\d+)?\s*\)?",
    _I,
)
#: A ratio of HER2 to another chromosome 17 reference probe ("HER2/SMS ratio 2.21", "HER2/RARA ratio 1.94",
#: "ratio HER2/D17S122: 2.0"): shown for information; ASCO/CAP 2018 groups use the CEP17 ratio only.
OTHER_PROBE_RATIO_RE: Final = re.compile(
    r"\bHER-?2\s*/\s*(?!CEP|CEN|chr|chromosome|cell|nucle)[A-Za-z][\w-]{1,12}(?:\s*\([^)]{0,30}\))?\s+ratio\b"
    r"\s*(?:of|=|:|was|is|-)?\s*\d{1,2}(?:\.\d+)?|"
    r"\bratio\s+(?:of\s+)?HER-?2\s*(?:/|:|to)\s*(?!CEP|CEN|chr|chromosome|cell|nucle)[A-Za-z][\w-]{1,12}\s*"
    r"(?:of|=|:|was|is|-)?\s*\d{1,2}(?:\.\d+)?",
    _I,
)
#: "average CEP17 2.0 signals/cell", "Average number of CEP17 signals per cell: 2.0".
CEP17_RE: Final = re.compile(
    _CEP17 + r"(?!\s*ratio)(?:[^;,()\d<>≥≤]|\([^()\d]{0,25}\)){0,40}?" + _MEASURED, _I
)
#: Chromosome 17 enumeration is counted for HER2 ISH only: a line about it belongs to the ISH result.
CEP17_WORD_RE: Final = re.compile(_CEP17, _I)
#: A signal recount (not an IHC re-scoring): its result is the ISH result.
SIGNAL_COUNT_RE: Final = re.compile(r"count|enumerat|observer|reader", _I)
_NUCLEI_COUNTED: Final = (
    r"\s*(?:signals?\s+|cop(?:y|ies)\s+|dots\s+)?(?:in|over|across|from|for|/)\s*(?P<n>\d{1,3})\s+"
    r"(?:(?:invasive|tumou?r|counted|scored|evaluable)\s+){0,2}(?:nuclei|cells)\b"
)
#: Signals totalled over the nuclei counted: "HER2 signals: 110 in 20 nuclei", "42 CEP17 signals over 20
#: cells".
SIGNAL_TOTAL_RE: Final = re.compile(
    r"(?:(?P<probe>"
    + HER2
    + "|"
    + _CEP17
    + r")(?:\s*(?:signals?|cop(?:y|ies)|dots|total|count(?:ed)?|[:=]))*\s*(?P<total>\d{2,4})"
    + r"|(?P<total2>\d{2,4})\s+(?P<probe2>"
    + HER2
    + "|"
    + _CEP17
    + r"))"
    + _NUCLEI_COUNTED,
    _I,
)
#: The number of nuclei a count was made in: "signals counted in 40 tumour nuclei", "20 nuclei scored".
NUCLEI_COUNT_RE: Final = re.compile(
    r"(?:count\w*|scor\w*|enumerat\w*|evaluat\w*|assess\w*|analy[sz]\w*)\s+(?:in|over|from|on|across)\s+"
    r"(?P<n>\d{1,3})\s+(?:\w+\s+){0,2}?(?:nuclei|cells)\b|"
    r"(?P<n2>\d{1,3})\s+(?:\w+\s+){0,2}?(?:nuclei|cells)\s+(?:were\s+)?(?:count|scor|enumerat|evaluat)\w*|"
    r"number\s+of\s+(?:\w+\s+)?(?:nuclei|cells)\s+(?:count|scor|evaluat|enumerat)\w*\s*[:=]?\s*(?P<n3>\d{1,3})\b|"
    r"\b(?:nuclei|cells)\s+(?:count|scor|evaluat|enumerat|analy[sz])\w*\s*[:=]\s*(?P<n4>\d{1,3})\b",
    _I,
)
#: A signal total: "total HER2 signals: 284"; after a nuclei count in the same statement also "HER2 = 88".
TOTAL_SIGNALS_RE: Final = re.compile(
    r"\btotal\s+(?:number\s+of\s+)?(?P<probe>"
    + HER2
    + "|"
    + _CEP17
    + r")\s+(?:signals?|cop(?:y|ies)|dots)\s*"
    r"(?:[:=]\s*)?(?P<total>\d{1,4})\b(?!\.\d|[\d%])",
    _I,
)
PLAIN_TOTAL_RE: Final = re.compile(
    r"(?P<probe>" + HER2 + "|" + _CEP17 + r")(?:\s+signals?)?\s*[:=]\s*(?P<total>\d{2,4})\b(?!\.\d|[\d%+])",
    _I,
)
#: "average HER2 copy number 2.4", "HER2 mean = 2.2", "average HER2/cell 3.8", "HER2 6.4 signals/cell".
HER2_COPIES_RE: Final = re.compile(
    HER2
    + r"(?P<gap>(?:[^;,()\d<>≥≤]|\([^()\d]{0,25}\)){0,40}?)"
    + _MEASURED
    + r"(?P<unit>\s*(?:signals?|cop(?:y|ies)|dots)?\s*"
    r"(?:/|per)\s*(?:invasive\s+)?(?:tumou?r\s+)?(?:cell|nucle(?:us|i)))?",
    _I,
)
COPY_WORD_RE: Final = re.compile(r"cop(?:y|ies)|signals?|mean|average|/\s*cell|per\s+cell|nucle|dots", _I)
#: A decimal copy number right after HER2 in an ISH statement ("HER2 3.6; CEP17 1.6").
HER2_DECIMAL_RE: Final = re.compile(HER2 + r"\s*(?:[:=]\s*)?(\d{1,2}\.\d{1,2})(?![\d%+])", _I)
#: "mean 4.6 copies/cell", "3.1 signals per nucleus", "9.6/cell" (no analyte named: HER2).
PER_CELL_RE: Final = re.compile(
    _MEASURED
    + r"\s*(?:"
    + HER2
    + r"\s*)?(?:gene\s+)?(?:signals?|cop(?:y|ies)|dots)?\s*(?:/|per)\s*(?:invasive\s+)?"
    r"(?:tumou?r\s+)?(?:cell|nucle(?:us|i))\b",
    _I,
)
#: Two labels and two values: "HER2/CEP17 ratio / mean HER2 copies per cell: 1.6 / 5.7".
PAIRED_RE: Final = re.compile(
    r"(?P<first>[^:;=]{2,60}?)\s+/\s+(?P<second>(?:(?!\s/\s)[^:;=]){2,60}?)\s*[:=]\s*(?P<a>\d{1,3}(?:\.\d{1,3})?)\s*/\s*"
    r"(?P<b>\d{1,3}(?:\.\d{1,3})?)(?![\d.%+])",
    _I,
)
GROUP_RE: Final = re.compile(
    r"\bgroup\s*(?:\((?:ASCO|CAP|ASCO/CAP|20\d\d|[\s/,])+\)\s*)?(?:[:#=]|\bis\b|\bwas\b|\bremains\b)?\s*"
    r"(V|IV|I{1,3}|[1-5])(?!\w|\.\d)",
    _I,
)
ROMAN: Final = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
#: A second, blinded count of the ISH signals (ASCO/CAP 2018), in any wording.
RECOUNT_RE: Final = re.compile(
    r"re-?count\w*|re-?enumerat\w*|re-?scor\w*|"
    r"(?:second|another|additional|independent|different|2nd)\s+(?:blinded\s+|independent\s+)?"
    r"(?:observer|pathologist|reader|scorer|technologist|cytogeneticist|count\w*|enumeration|evaluation|"
    r"scoring|reading|review\w*)|"
    r"count\w*\s+(?:was\s+|were\s+)?(?:repeated|performed\s+again|redone)|repeat(?:ed)?\s+(?:count|enumeration|scoring)|"
    r"counted\s+(?:independently\s+)?by\s+(?:two|2|a\s+second)|(?:two|2)\s+(?:independent\s+)?observers|"
    r"number\s+of\s+observers\s*[:=]?\s*(?:[2-9]|two|three)|"
    # "Observer 2 (blinded, 20 different nuclei): HER2 4.5/cell": the second observer's count.
    r"\b(?:observer|reader|scorer|counter|count)\s*(?:#|no\.?)?\s*[2-9]\b|\b(?:observer|reader|scorer)\s+B\b",
    _I,
)
#: Words that a recount, a second observer's count or the final interpretation is not done yet ("recount
#: pending", "is now being performed", "still to be done", "to follow", "awaited", "will be issued in an
#: addendum"); other languages' spellings arrive in English through the lexicon. A recount only "requested"
#: or "ordered" is not such a statement (§4: groups 2–4 with IHC 2+ and no recount → review).
NOT_DONE_RE: Final = re.compile(
    r"\bpending\b|\bin\s+progress\b|under\s*way|\bongoing\b|(?:is|are)\s+(?:now\s+)?being\s+(?:performed|done|"
    r"carried\s+out|counted|undertaken)|still\s+to\s+be\s+(?:done|performed|carried\s+out|counted)|"
    r"not\s+yet\s+(?:done|performed|completed|available|resulted|reported)|(?:to|will)\s+follow|"
    r"\bawait\w*|has\s+been\s+initiated|"
    r"(?:to|will)\s+be\s+(?:reported|issued|performed|done|sent|provided|given)|in\s+an?\s+(?:addendum|"
    r"supplement\w*|amended\s+report)",
    _I,
)
#: The recount agreed with the first count.
CONFIRM_RE: Final = re.compile(
    r"confirm\w*|agree\w*|concordan\w*|\bsame\b|unchanged|consistent|identical|reproduc\w*|verified|"
    r"\bmatch(?:ed|es|ing)?\b|no\s+difference|"
    r"did\s+not\s+(?:change|alter|differ)|no\s+change|not\s+chang\w*|remain\w*\s+(?:in\s+)?(?:group|the\s+same|"
    r"unchanged)|similar\s+result|comparable|number\s+of\s+observers",
    _I,
)
GROUP_CHANGE_RE: Final = re.compile(r"from\s+(?:group\s*)?([1-5])\s+to\s+(?:group\s*)?([1-5])\b", _I)

# ----------------------------------------------------------------------------------------------------------
# IHC scores

_SCORE_DIGIT: Final = r"([0-3])"
#: The scale a score is given on ("range 0-3+", "on a scale of 0 to 3+", "of 3+", "/ 3+ scale"): not a
#: reading.
SCALE_RE: Final = re.compile(
    r"\(?\s*(?:range|scale)\s*(?:of\s*|:\s*)?0\s*\+?\s*(?:-|to)\s*3\s*\+?\s*\)?|"
    r"\bon\s+a\s+(?:0\s*(?:-|to)\s*3\+?\s+)?scale(?:\s+of\s+0\s*(?:-|to)\s*3\s*\+?)?|"
    r"(?<=[0-3]\+)\s*(?:of|out\s+of)\s+3\s*\+|(?<=[0-3]\+)\s*/\s*3\s*\+\s*scale",
    _I,
)
#: Scores listed as categories ("IHC 0 and 1+ were distinguished", "0, 1+ and 2+"): not a reading.
SCORE_LIST_RE: Final = re.compile(
    r"(?<![\w.+/])(?:IHC\s+)?[0-3]\+?(?:\s*,\s*(?:IHC\s+)?[0-3]\+?)*,?\s+and\s+(?:IHC\s+)?[0-3]\+(?![\d+])",
    _I,
)
#: "0-1+", "1-2+", "0 to 1+", "1+ to 2+", "1+/2+", "0 or 1+" (not "1+ or 2+/ISH-negative", a category list).
RANGE_RE: Final = re.compile(
    r"(?<![\w.+/<>≥≤-])(?![0-3]\s*/\s*3\s*\+)"  # "0/3+" is "score 0 of 3+", not a range
    + _SCORE_DIGIT
    + r"\s*\+?\s*(?:-|to|/|or)\s*"
    + _SCORE_DIGIT
    + r"\s*\+(?![\d+])(?!\s*/\s*(?:ISH|FISH|SISH|neg|not))",
    _I,
)
#: Ultralow shorthand (§8): "ultralow", "ultra-low", "0+", ">0 <1+", "0 with membrane staining".
ULTRALOW_RE: Final = re.compile(
    r"ultra[-\s]?low|>\s*0\s*%?\s*(?:but|and|,|to|-)?\s*<\s*1\s*\+|(?<![\w.+])0\s?\+(?![\d+])|"
    r"(?<![\w.])0\s*\(?\s*with\s+(?:(?:faint|weak|incomplete|partial|barely\s+perceptible|membrane|membranous|"
    r"minimal|focal|some|any)[\s,]+)*(?:(?:immuno-?)?staining|reactivity|expression)",
    _I,
)
#: Ultralow denied ("not ultralow", "ultralow criteria not met", "does not meet the criteria for ultralow"):
#: no ultralow cue.
NOT_ULTRALOW_RE: Final = re.compile(
    r"\b(?:not|no|non)[-\s]+(?:HER-?2[-\s]+)?ultra[-\s]?low|"
    r"\b(?:does|do|did)\s+not\s+(?:meet|fulfil+|satisfy|reach)\s+(?:the\s+)?(?:criteri(?:a|on)\s+(?:for|of)\s+)?"
    r"(?:HER-?2[-\s]+)?ultra[-\s]?low|"
    r"ultra[-\s]?low\s+(?:criteri(?:a|on)|definition|threshold)\s+(?:(?:is|are|was|were)\s+)?"
    r"(?:not\s+(?:met|fulfil+ed|satisfied|reached)|unmet)",
    _I,
)
#: "with membrane staining" after an IHC 0 (§8 "0 with membrane staining"): the ultralow description.
WITH_STAINING_RE: Final = re.compile(
    r"(?<!\bno\s)(?<!without\s)\bwith\s+(?:(?:faint|weak|incomplete|partial|barely\s+perceptible|minimal|focal|"
    r"some)[\s,]+)*(?:membrane|membranous)\s+(?:(?:immuno-?)?staining|reactivity|immunoreactivity)",
    _I,
)
#: The explicit term "HER2-null": IHC 0 without membrane staining (§8), so it states a score of 0.
NULL_TERM_RE: Final = re.compile(HER2 + r"[-\s]?null\b|\b0\s*\(\s*null\s*\)", _I)
#: Null cues (§8): no membrane staining at all ("no staining or faint ... staining in ≤10 %" is the
#: definition of IHC 0, not a description, and is not a null cue).
NULL_RE: Final = re.compile(
    r"HER-?2[-\s]?null|\bnull\b|(?:immuno)?reactivity\s*(?::|is|was)?\s*(?:absent|none|not\s+(?:seen|observed|"
    r"identified|detected))\b|"
    r"\bno\s+(?:(?:complete|incomplete|or|and|partial|circumferential|any|membrane|membranous|detectable|"
    r"HER-?2|immuno)[\s-]+){0,6}"
    r"(?:staining|immuno-?staining|immunoreactivity|reactivity|expression|labell?ing)(?!\s+or\b)"
    r"(?!\s+(?:of|in)\s+(?:the\s+)?DCIS)|"
    r"without\s+(?:any\s+)?(?:membrane\s+|membranous\s+)?(?:immuno-?)?staining|"
    r"\bany\s+(?:membrane\s+|membranous\s+)?(?:immuno-?)?staining\s*(?:[:=?]|\s-\s)\s*(?:no|none)\b|"
    r"absen(?:ce|t)\s+(?:of\s+)?(?:any\s+)?(?:membrane\s+|membranous\s+)?(?:(?:immuno-?)?staining|reactivity)|"
    r"(?:membrane\s+|membranous\s+)?(?:immuno-?)?staining\s*(?::|is|was)?\s*(?:absent|none|not\s+(?:seen|observed|identified|"
    r"detected))\b|\babsent\b|completely\s+negative|"
    # a grid's row for the unstained cells ("Membrane pattern: None"), with the row's share after it
    r"\b(?:membrane|staining)\s+pattern\s*[:=]\s*(?:none|nil)\b|"
    # German: "keine membranständige Reaktion", "(komplett) fehlende Färbung": no membrane staining at all.
    r"\bkeine\s+(?:membran\w*\s+)?(?:Reaktion|Reaktivität|Färbung|Anfärbung|Immunreaktion)\b|"
    r"\bfehlende\s+(?:membran\w*\s+)?(?:Reaktion|Färbung|Anfärbung)\b|"
    r"\b0\s*%\s*(?:of\s+(?:the\s+)?(?:\w+\s+){0,3}cells\s+)?"
    r"(?:with|showing|show)?\s*(?:any\s+)?(?:membrane\s+|membranous\s+)?(?:immuno-?)?staining(?!\s+(?:of|in)\b)",
    _I,
)
#: "3+", "(2+)", "1 +", "2 plus", "two-plus", "+1", "(+++)", "++".
SCORE_PLUS_RE: Final = re.compile(
    r"(?<![\w.+/<>≥≤])(?<!HER-)(?<!erbB-)(?<!erb-B-)" + _SCORE_DIGIT + r"\s?(?:\+|-?\s?plus\b)(?![\d+])|"
    r"\b(zero|one|two|three)[-\s]?plus\b|"
    r"(?<![\w+)])\+\s?([1-3])(?![\d%+]|\.\d)|(?<![\w+])\(?(\+\+\+?)\)?(?![\w+])",
    _I,
)
#: "score 0", "Score: 1", "score of 2", "score 2/3", "IHC 2", "(IHC): 2", "2/3", ": 2 (equivocal)".
SCORE_LABELLED_RE: Final = re.compile(
    r"(?<=[:=])\s*([0-3])(?=\s*[(,-]?\s*(?:negative|equivocal|borderline|positive)\b)|"
    r"(?:\bscore|\bIHC\)?(?:\s+score)?)\s*(?:of|=|:|was|is)?\s*\(?"
    + _SCORE_DIGIT
    + r"(?![\d%+]|[.,]\d|\s*%|\s*-\s*\d|\s*to\s+\d|\s*or\s+\d|\s+(?:blocks?|slides?|cores?|cells))|"
    r"(?<![\w./])([0-3])\s*/\s*3\b(?![.\d])|"
    # "the HER2 immunostain is zero, negative", "is two, equivocal" (dictated).
    r"\b(?:is|was)\s+(zero|one|two|three|[0-3])(?=\s*[(,-]?\s*(?:negative|equivocal|borderline|positive)\b)|"
    r"\b(?:is|was)\s+(zero)(?=\s*(?:[.;]|$))|"
    # "score one", "score of two", "IHC score: three" (numbers as words).
    r"\b(?:score|IHC)\s*(?:of|=|:|was|is)?\s*\(?(zero|one|two|three)\b(?!\s*(?:of\s+(?:the\s+)?)?(?:blocks?|slides?|"
    r"cores?|cells|specimens?|parts?|foci|areas?|nuclei|\d))|"
    # "Negative 0.", "positive, 3;": a digit right after its status word, ending the statement.
    r"(?:(?<=negative\s)|(?<=negative,\s)|(?<=positive\s)|(?<=positive,\s)|(?<=equivocal\s)|"
    r"(?<=equivocal,\s)|(?<=borderline\s)|(?<=borderline,\s))([0-3])(?=\s*(?:[(),;.]|$))",
    _I,
)
#: "(0)", "IHC 0", ": 0", "HER2-0", "HER2 zero", "HER2-zero".
ZERO_BARE_RE: Final = re.compile(
    # not a count of nodes or cells ("(0/1)", "0/12"), which a score on its 0–3 scale ("0/3+") is not
    r"(?:\bIHC|\(|:|=|"
    + HER2
    + r"[-\s]*)\s*0(?![\d%+]|[.,]\d|\s*%|\s*(?:-|to|or)\s*[1-3]|\s*/\s*(?:[124-9]|\d\d))|"
    # "HER2 (4B5) 0, negative": the clone in brackets between the marker and its score.
    r"" + HER2 + r"\s*\((?![^()]*\b(?:19|20)\d\d\b)[^()]{1,40}\)\s*"
    r"0(?![\d%+]|[.,]\d|\s*%|\s*(?:-|to|or)\s*[1-3])|"
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
    "++": IhcScore.TWO_PLUS,
    "+++": IhcScore.THREE_PLUS,
}
#: A scoring cut-off named beside a result ("does not exceed the >10% threshold for 1+", "cut-off of 10 %"):
#: a criterion, not a share of cells.
CUT_OFF_RE: Final = re.compile(
    r"(?:(?:the\s+)?[<>≤≥]?\s*\d{1,3}(?:\.\d+)?\s*%\s+(?:threshold|cut-?\s?off|cutoff|limit)\b|"
    r"\b(?:threshold|cut-?\s?off|cutoff)\s+(?:of\s+|at\s+)?[<>≤≥]?\s*\d{1,3}(?:\.\d+)?\s*%)"
    # "… threshold for 1+", "… cut-off for a score of 1+": the score the cut-off defines.
    r"(?:\s+(?:for|of)\s+(?:an?\s+)?(?:(?:IHC\s+)?score\s+(?:of\s+)?)?(?:IHC\s+)?[0-3]\s?\+)?",
    _I,
)
#: A revision inside one sentence: "revised from 1+ to 2+" (the first score is the superseded one).
REVISION_RE: Final = re.compile(
    r"(?:chang|revis|amend|correct|upgrad|downgrad|reclassif|re-?scor|updat|modif)\w*\s+(?:\w+\s+){0,3}?"
    r"from\s+(?P<old>[^;]{1,30}?)\s+to\b|"
    r"(?:(?:(?:previously|originally|initially|formerly)\s+(?:(?:issued|signed|released)\s+)?(?:report\s+)?|"
    # "The previously issued report stated "HER2: 3+ (positive)"; this was incorrect."
    r"(?:previous|original|initial|prior|earlier)\s+(?:(?:issued|signed|released)\s+)?report\s+)"
    r"(?:reported|scored|read|called|interpreted|given|stated|said|showed|indicated|gave)\s+|"
    # "HER2 (4B5) INITIAL READ: 2+ (EQUIVOCAL)." before a consensus or second read: the first read.
    r"\b(?:initial|first|original)\s+(?:read(?:ing)?|interpretation)\s*[:=]\s*)"
    # "the previously reported case (IHC 2+)" names the case, not a superseded value.
    r"(?!(?:case|specimen|block|tissue|sample|material)\b)(?:as\s+)?(?P<quoted>[\"“']?[^;,.]{1,30})",
    _I,
)

# ----------------------------------------------------------------------------------------------------------
# Shares of cells and staining patterns (§3)

#: A share of invasive tumour cells: a number (or range) of percent with an optional comparison.
PCT: Final = (
    r"(?P<cmp><|>|≤|≥|less\s+than|fewer\s+than|under|below|more\s+than|greater\s+than|over|above|up\s+to|"
    r"at\s+least|approximately|approx\.?|about|around|roughly|nearly|almost|~|ca\.?)?\s*"
    r"(?P<value>\d{1,3}(?:\.\d+)?)\s*(?:%\s*)?(?:(?:-|to)\s*(?P<upper>\d{1,3}(?:\.\d+)?)\s*)?%"
)
#: Shares written as words.
QUANTITY: Final = (
    r"(?P<quantity>(?:the\s+)?(?:vast\s+)?majority\s+of|most(?:\s+of)?|(?:nearly|almost|virtually)\s+all|"
    r"all(?:\s+of)?|(?:a\s+)?(?:few|rare|occasional|scattered|isolated|single|sporadic)|"
    r"(?:a\s+)?(?:small\s+)?(?:minority|subset|proportion)\s+of)"
)
QUANTITY_SHARES: Final = (
    (re.compile(r"majority|most", _I), 75.0),
    (re.compile(r"all", _I), 95.0),
    (
        re.compile(r"few|rare|occasional|scattered|isolated|single|sporadic|minority|subset|proportion", _I),
        2.0,
    ),
)
_CELLS: Final = (
    r"(?:of\s+)?(?:the\s+)?(?:(?:invasive|infiltrating|tumou?r|carcinoma|neoplastic|malignant|cancer|ductal|lobular|"
    r"breast|mammary|metastatic)\s+)*"
    r"(?:cells?|nuclei|(?<=invasive\s)tumou?r\b|(?<=the\s)tumou?r\b)"
)
_DESCRIPTOR: Final = (
    r"(?:complete|incomplete|circumferential|entire|full|partial|basolateral|lateral|discontinuous|"
    r"fragmented|intense|strong|strongly|moderate|moderately|weak|weakly|faint|faintly|barely[\s-]+perceptible|"
    r"barely|perceptible|uniform|homogeneous|heterogeneous|membrane|membranous|granular|linear|thick|thin|"
    r"and|to|or|but|any|focal|focally|HER-?2)"
)
#: A descriptor, or a short aside among them ("moderate basolateral ("U-shaped") membrane staining").
_DESCRIPTORS: Final = r"(?P<desc>(?:(?:\(?" + _DESCRIPTOR + r"\)?|\([^()\d]{1,25}\))[\s,/-]+){1,9})"
_STAIN_NOUN: Final = (
    r"(?:staining|stain|immuno-?staining|immuno-?stain|reactivity|immunoreactivity|positivity|expression|"
    r"labell?ing)"
)
#: "faint, incomplete membrane staining in 5% of tumor cells", "intense complete staining (3+) in 8%".
STAINING_PCT_RE: Final = re.compile(
    _DESCRIPTORS
    + _STAIN_NOUN
    + r"(?P<label>\s*\([^)]{0,12}\))?(?:\s+(?:is|was|are|were)?\s*(?:seen|observed|present|identified|noted|"
    r"detected))?\s*(?:(?:in|of|:|=|-|\(\s*(?:in\s+)?)\s*)?(?:"
    + PCT
    + r"|"
    + QUANTITY
    + r"\s+"
    + _CELLS
    + r")",
    _I,
)
#: "5% of tumour cells show faint incomplete staining", "the majority of cells show strong complete staining".
PCT_STAINING_RE: Final = re.compile(
    r"(?:"
    + PCT
    + r"|"
    + QUANTITY
    + r")\s*"
    + _CELLS
    + r"?\s*(?:with|show\w*|demonstrat\w*|exhibit\w*|display\w*|had|have|having|are|were|:|=|-)?\s*"
    + _DESCRIPTORS
    + _STAIN_NOUN,
    _I,
)
#: "Rare tumour cells (<5 %) show faint incomplete staining": the share in brackets after the cells.
CELLS_PCT_STAINING_RE: Final = re.compile(
    r"(?:(?:a\s+)?(?:few|rare|occasional|scattered|isolated|some)\s+)?"
    + _CELLS
    + r"\s*\(\s*"
    + PCT
    + r"\s*\)\s*(?:with|show\w*|demonstrat\w*|exhibit\w*|display\w*|had|have|having|are|were)?\s*"
    + _DESCRIPTORS
    + _STAIN_NOUN,
    _I,
)
#: A staining description given as separate fields ("Intensity: weak", "Completeness: incomplete",
#: "Percentage of positive cells: 40%"), as some laboratory systems lay out their IHC result.
FIELD_RES: Final = (
    (
        "intensity",
        re.compile(
            r"\b(?:staining\s+)?intensity\s*[:=-]\s*(?P<value>(?:weak|faint|moderate|strong|intense|barely\s+"
            r"perceptible)(?:[\s/-]+(?:to\s+)?(?:weak|faint|moderate|strong|intense))*)",
            _I,
        ),
    ),
    (
        "completeness",
        re.compile(
            r"\b(?:completeness|membran(?:e|ous)\s+(?:immuno-?)?staining|staining\s+pattern|pattern|"
            r"circumferentiality)\s*[:=-]\s*"
            r"(?P<value>(?:in)?complete(?:\s*,\s*circumferential)?|circumferential|partial|basolateral|lateral)",
            _I,
        ),
    ),
    (
        "share",
        re.compile(
            # "Percentage of positive cells: 40%"; a table column headed "% invasive cells"
            r"(?:\b(?:percentage|proportion|percent)\s+|(?<![\w.%])(?<!\d\s)%\s*)(?:of\s+)?"
            r"(?:positive\s+|stained\s+|staining\s+)?(?:(?:invasive|tumou?r)\s+)*cells\s*[:=-]\s*" + PCT,
            _I,
        ),
    ),
)
#: "0% of cells with any membrane staining", "membrane staining of any intensity: 0%".
ANY_STAINING_RE: Final = re.compile(
    r"any\s+(?:membrane\s+|membranous\s+)?(?:immuno-?)?staining|staining\s+of\s+any\s+intensity", _I
)
INTENSE_RE: Final = re.compile(r"intense|strong", _I)
MODERATE_RE: Final = re.compile(r"moderate", _I)
FAINT_RE: Final = re.compile(r"faint|weak|barely", _I)
COMPLETE_RE: Final = re.compile(r"(?<!in)complete|circumferential|entire|\bfull\b", _I)
INCOMPLETE_RE: Final = re.compile(r"incomplete|partial|basolateral|lateral|discontinuous|fragmented", _I)
#: A description that quotes a definition ("no staining or faint incomplete staining in ≤10 %").
DEFINITION_ALTERNATIVE_RE: Final = re.compile(r"\bor\s+$", _I)

#: A score in a heterogeneous read ("0+" is the ultralow shorthand, never a component).
_COMPONENT_SCORE: Final = r"(?P<score>[1-3]\s?\+|\+\s?[1-3]|\(\+{2,3}\)|\+{2,3}|0(?![.\d+]))"
#: A score tied to a share of cells: "3+ in 15%", "3+ (15 %)", "15% 3+", "40% of cells show 1+ staining".
COMPONENT_RES: Final = (
    re.compile(
        r"(?<![\w.+])"
        + _COMPONENT_SCORE
        + r"\s*(?:staining\s*)?(?:\(\s*|in\s+|:\s*|=\s*|-\s*)(?:the\s+)?(?:"
        + PCT
        + r"|"
        + QUANTITY
        + r"\s+"
        + _CELLS
        + r")\s*\)?",
        _I,
    ),
    re.compile(
        r"(?<![\w.])(?:"
        + PCT
        + r")\s*"
        + _CELLS
        + r"?\s*(?:show\w*|with|are|were|:|=|-)?\s*(?:\w+\s+){0,2}?"
        + _COMPONENT_SCORE
        + r"(?![\w+])",
        _I,
    ),
)
#: The rest of the cells: "1+ elsewhere", "1+ in the remaining cells", "remainder 0".
COMPONENT_REST_RES: Final = (
    re.compile(
        r"(?<![\w.+])"
        + _COMPONENT_SCORE
        + r"\s+(?:staining\s+)?(?:in\s+)?(?:the\s+)?(?:remaining|remainder|rest|other|residual|elsewhere)\b"
        r"(?:\s+(?:of\s+(?:the\s+)?)?(?:\w+\s+)?(?:cells|tumou?r))?",
        _I,
    ),
    re.compile(
        r"\b(?:remaining|remainder|rest|residual|elsewhere|other)\b(?:\s+(?:of\s+(?:the\s+)?)?(?:\w+\s+)?cells)?"
        r"\s*(?::|=|-|is|are|were|show\w*|with)?\s*(?:staining\s+)?" + _COMPONENT_SCORE + r"(?![\w+])",
        _I,
    ),
    # "the remaining tumour shows faint incomplete staining (1+)": the rest described, its score in brackets.
    re.compile(
        r"\b(?:remaining|remainder|rest|residual)\b(?:\s+(?:of\s+(?:the\s+)?)?(?:\w+\s+)?(?:cells|tumou?r))?"
        r"\s+(?:show\w*|has|have|had|with|exhibit\w*|demonstrat\w*|display\w*)\s+(?:[\w-]+\s+){0,5}?"
        r"\(\s*" + _COMPONENT_SCORE + r"\s*\)",
        _I,
    ),
)

#: A score naming a region already described ("ISH on the 1+ area", "in the 3+ component"): a reference to a
#: part of the tumour, not a score of its own.
REGION_REFERENCE_RE: Final = re.compile(
    r"\b(?:on|in|of|from|for|within)\s+the\s+"
    + _COMPONENT_SCORE
    + r"\s+(?:areas?|regions?|components?|populations?|foc(?:us|i)|parts?|zones?)\b",
    _I,
)

# ----------------------------------------------------------------------------------------------------------
# Status words and phrases

_BY_METHOD: Final = r"(?:\s+(?:by|on)\s+(?:dual[-\s]probe\s+|single[-\s]probe\s+)?[\w-]+)?"
#: A yes/no answer to a labelled question ("HER2 amplified: No", "Overexpression - yes", "Positive: no").
ANSWER_RE: Final = re.compile(
    r"\b(?P<label>amplifi\w*|over-?express\w*|positive|negative|equivocal)\s*(?:(?:[:?=]|\s-\s)\s*"
    r"(?P<answer>yes|no|none|absent|present|not\s+(?:detected|present|seen|identified)|detected|identified)|"
    r"(?P<bare>yes|no))\b(?!\s+(?:evidence|amplification|over-?expression|staining)\b)",
    _I,
)
#: A 3+ qualified as weak, faint or moderate ("3+ (weak)", "weak 3+"): 3+ is intense staining by definition,
#: so the statement contradicts itself.
WEAK_THREE_RE: Final = re.compile(
    r"\b(?:weak|weakly|faint|faintly|moderate|moderately|barely\s+perceptible)\s*\(?\s*3\s?\+|"
    r"(?<![\w.+])3\s?\+\s*\(?\s*(?:weak|weakly|faint|faintly|moderate|moderately)\b",
    _I,
)
#: A score that is denied ("the tumour is not HER2 3+", "no 3+ staining"): not a reading.
NEGATED_SCORE_RE: Final = re.compile(
    r"\b(?:not|no|never|nor|without|rather\s+than|instead\s+of)\s+(?:(?:intense|strong|complete|circumferential|"
    r"uniform|membrane|membranous|staining|IHC|score|of|an?|the|or|and|"
    + HER2
    + r")[\s,]+){0,4}\(?\s*[0-3]\s?\+\s*\)?"
    # "No 3+ or 2+ staining seen": every score of the denied list
    r"(?:\s*(?:or|nor|and|/)\s*\(?\s*[0-3]\s?\+\s*\)?)*"
    r"(?![\d+])|"
    # "no membrane staining meeting criteria for 3+ (or 2+) was identified"
    # "no staining reaches the 1+ threshold", "none of the cells meets the criteria for 2+"
    r"\b(?:no|not|without|none)\s+(?:\w+\s+){0,4}?(?:meet(?:s|ing)?|fulfill?(?:s|ing)?|satisf(?:ies|ying|y)|"
    r"reach(?:es|ing)?|attain(?:s|ing)?|qualif(?:ies|ying|y)\s+for)\s+"
    r"(?:the\s+)?(?:criteria|criterion|threshold|definition|requirements?)?\s*(?:for|of)?\s*(?:an?\s+)?"
    r"(?:score\s+(?:of\s+)?)?\(?\s*[0-3]\s?\+\s*\)?(?:\s*\(?\s*(?:or|nor|and)\s+[0-3]\s?\+\s*\)?)?(?![\d+])|"
    # "below the 1+ threshold", "short of the cut-off for 1+", "not reaching 1+": the score a result falls
    # short of is its bound, not the result
    r"\b(?:below|under|beneath|short\s+of|lower\s+than|less\s+than|not\s+(?:reaching|meeting|attaining)|"
    r"(?:does|did)\s+not\s+(?:reach|meet|attain))\s+(?:the\s+)?(?:(?:threshold|cut-?\s?off|cutoff|level|"
    r"criteria|criterion)\s+(?:for|of)\s+(?:an?\s+)?)?(?:(?:IHC\s+)?score\s+(?:of\s+)?)?(?:IHC\s+)?"
    r"\(?\s*[0-3]\s?\+\s*\)?(?![\d+])(?:\s*(?:threshold|cut-?\s?off|cutoff|level|criteria|criterion))?|"
    # "This comment does not indicate a positive HER2 result": a status denied, not stated.
    r"\b(?:does|do|did|should|must|is|are)\s+not\s+(?:\w+\s+){0,2}?(?:an?\s+)?(?:positive|negative|equivocal)\s+"
    r"(?:HER-?2\s+)?(?:results?|status|findings?|call|interpretation)\b",
    _I,
)
#: ISH-negative phrases, tried before :data:`AMP_POS_RE` so that "not amplified" never reads as "amplified".
AMP_NEG_RE: Final = re.compile(
    r"(?:not|non|un|no)[-\s]?amplif\w*|negative\s+for\s+(?:gene\s+)?amplification|without\s+amplification|"
    # German reports: "nicht amplifiziert", "keine (Gen-)Amplifikation".
    r"nicht\s+amplifiziert|keine\s+(?:HER-?2[-\s]?)?(?:Gen-?)?amplifikation|"
    r"not\s+(?:considered|regarded|deemed|classified\s+as|reported\s+as|called)\s+(?:as\s+)?amplified|"
    r"no\s+(?:evidence\s+of\s+)?(?:"
    + HER2
    + r"\s+)?(?:gene\s+)?amplification|amplification"
    + _BY_METHOD
    + r"\s*(?::|is|was)?\s*(?:not\s+(?:detected|identified|present|seen|observed)|absent|negative)",
    _I,
)
AMP_POS_RE: Final = re.compile(
    r"\bamplified\b|\bamplifiziert\b|amplification"
    + _BY_METHOD
    + r"\s*(?::|is|was)?\s*(?:detected|present|identified|seen|observed|positive)|"
    r"positive\s+for\s+(?:gene\s+)?amplification|gene\s+amplification\s+(?:is\s+)?(?:present|detected)",
    _I,
)
OVEREXP_NEG_RE: Final = re.compile(
    r"not\s+over-?express\w*|\bno\s+(?:evidence\s+of\s+)?(?:"
    + HER2
    + r"\s+)?(?:protein\s+)?over-?expression|"
    r"(?:negative\s+for|without)\s+(?:" + HER2 + r"\s+)?(?:protein\s+)?over-?expression|over-?expression\s*"
    r"(?::|is|was)?\s*(?:not\s+(?:detected|identified|present|seen)|absent|negative)",
    _I,
)
OVEREXP_POS_RE: Final = re.compile(
    r"\bover-?expressed\b|over-?expression\s*(?::|is|was)?\s*(?:detected|present|identified|seen)", _I
)
#: Status words; "weakly positive", "false negative" and the like are not statuses.
STATUS_RE: Final = re.compile(
    r"(?<!weakly\s)(?<!weak\s)(?<!false\s)(?<!false-)(?<!triple\s)(?<!triple-)(?<!schwach\s)"
    r"\b(positiv|negativ|positive|negative|equivocal|borderline|indeterminate|uninterpretable|inconclusive|"
    r"pos|neg)\b"
    r"(?!\s+(?:cells?|nuclei|tumou?r\s+cells|invasive\s+cells|staining|membranes?)\b)"
    r"(?!\s+(?:and\s+negative\s+)?controls?)(?!\s+for\s+(?:ER|PR|E-?cadherin|Ki))|"
    + HER2
    + r"(?:\s*[:=]?\s*\(\s*([+-])\s*\)|([+-])(?=[\s,;.)/]|$)|\s*[:=]\s*([+-])(?=\s*(?:[,;.)/]|$)))",
    _I,
)
STATUS_WORDS: Final = {
    "positive": ReportedStatus.POSITIVE,
    "pos": ReportedStatus.POSITIVE,
    "positiv": ReportedStatus.POSITIVE,
    "negativ": ReportedStatus.NEGATIVE,
    "negative": ReportedStatus.NEGATIVE,
    "neg": ReportedStatus.NEGATIVE,
    "-": ReportedStatus.NEGATIVE,
    "equivocal": ReportedStatus.EQUIVOCAL,
    "borderline": ReportedStatus.EQUIVOCAL,
    "indeterminate": ReportedStatus.INDETERMINATE,
    "uninterpretable": ReportedStatus.INDETERMINATE,
    "inconclusive": ReportedStatus.INDETERMINATE,
}
#: A status that names a kind of disease ("HER2-positive breast cancer", "HER2+ disease", "HER2-negative
#: metastatic tumour"): a label of the patient's disease, often from the history, weaker than any test.
DISEASE_LABEL_RE: Final = re.compile(
    r"[\s)-]*(?:(?:metastatic|advanced|early|recurrent|residual|invasive|primary|locally\s+advanced|"
    r"stage\s+[IV0-4]+[A-C]?|breast)[\s,]+)*(?:cancer|carcinoma|disease|MBC|mBC|BC|EBC|tumou?rs?|patients?|"
    r"subtype|phenotype|neoplasm)\b",
    _I,
)
#: "Triple negative" (ER, PR and HER2 negative): a HER2-negative statement without a score.
TRIPLE_NEGATIVE_RE: Final = re.compile(
    r"(?<!\bnot\s)(?<!\bnon-)(?<!\bnon\s)(?<!\bnor\s)\b(?:triple[-\s]?negative\b|TNBC\b)", _I
)
PENDING_RE: Final = re.compile(
    r"\bpending\b|to\s+follow|will\s+follow|(?:to|will)\s+be\s+(?:reported|issued|performed|sent|done)|"
    r"reported\s+separately|see\s+(?:the\s+)?(?:addendum|separate\s+report|supplement\w*)|sent\s+(?:out|to|for)|"
    r"in\s+progress|\bordered\b|\brequested\b|\bawait\w*|forthcoming|not\s+yet\s+(?:available|resulted|reported)|"
    r"has\s+been\s+(?:ordered|requested|initiated)|\bpreliminar\w*|\bprovisional\w*|"
    r"before\s+(?:a|the)\s+final\s+(?:result|interpretation|report)",
    _I,
)
#: Pre-analytic or technical failure (§3 "indeterminate").
TECHNICAL_RE: Final = re.compile(
    r"indeterminate|uninterpretable|not\s+interpretable|not\s+assessable|non-?assessable|non-?diagnostic|"
    r"(?:cannot|could\s+not)\s+be\s+(?:reliably\s+)?(?:interpreted|evaluated|assessed|scored|determined|"
    r"reported|performed)|(?:IHC|ISH|FISH|stain(?:ing)?|test(?:ing)?|assay|hybridi[sz]ation)\s+failed|"
    r"failed\s+(?:hybridi[sz]ation|staining|assay)|hybridi[sz]ation\s+failure|no\s+(?:interpretable\s+)?signals|"
    r"insufficient\s+signals|crush(?:ing)?\s+arte?facts?|no\s+staining\s+(?:of|in)\s+(?:the\s+)?(?:internal\s+|"
    r"external\s+|positive\s+)?controls?|"
    r"(?:failed|inadequate|unsatisfactory)\s+(?:internal\s+|external\s+)?controls?|controls?\s+(?:failed|did\s+not\s+"
    r"(?:stain|work|perform))|(?:insufficient|inadequate|scant|limited)\s+(?:invasive\s+)?(?:tumou?r|tissue|"
    r"material|cells|cellularity|carcinoma|sample)|inadequate\s+for\s+(?:HER-?2\s+)?(?:testing|evaluation)|"
    r"fixation\s+arte?fact|(?:poor|inadequate|prolonged|delayed)\s+fixation|decalcifi\w*|edge\s+arte?fact|"
    r"technical(?:ly)?\s+(?:failure|unsatisfactory|inadequate)|not\s+evaluable|unevaluable|inconclusive",
    _I,
)
#: A stated failure of the stain itself (not a caution about it): "not evaluable", "uninterpretable", failed
#: or unstained controls, crush artefact, fixation that makes the stain unreliable. Staining words in such a
#: run ("absent membrane staining") describe the failure, not a score.
FAILURE_RE: Final = re.compile(
    r"not\s+(?:evaluable|interpretable|assessable|scorable)|un(?:evaluable|interpretable|assessable|scorable)|"
    r"non-?(?:evaluable|interpretable|assessable|diagnostic)|"
    r"(?:cannot|could\s+not)\s+be\s+(?:reliably\s+)?(?:interpreted|evaluated|assessed|scored)|"
    r"(?:IHC|stain(?:ing)?|test(?:ing)?|assay)\s+(?:has\s+|have\s+)?failed|failed\s+(?:staining|assay|run)|"
    r"(?:failed|inadequate|unsatisfactory)\s+(?:internal\s+|external\s+|positive\s+|on-?slide\s+)?controls?|"
    r"controls?(?:\s+(?:cores?|tissues?|slides?|sections?|blocks?|samples?))?(?:\s*\([^()]{0,30}\))?\s+"
    r"(?:(?:has|have|had|also|all|both|each|again)\s+)*(?:failed|did\s+not\s+(?:stain|work|perform)|"
    r"(?:stained|performed|reacted)\s+(?:inappropriately|unexpectedly|abnormally|aberrantly|outside)|"
    r"(?:was|were)\s+(?:inappropriate|unacceptable|invalid|out\s+of\s+range|negative))|"
    r"(?:inappropriate|unacceptable|aberrant|invalid)\s+(?:\w+\s+)?control|"
    r"no\s+staining\s+(?:of|in)\s+(?:the\s+)?(?:internal\s+|external\s+|positive\s+|on-?slide\s+)?controls?|"
    r"crush(?:ing)?\s+arte?facts?|technical(?:ly)?\s+(?:failure|unsatisfactory)|"
    r"(?:IHC|immunohistochemistry|HER-?2)\b[^.;:]{0,30}:\s*(?:indeterminate|invalid|failed)\b|"
    r"\binvalid\s+(?:run|stain\w*|assay|test|result)|(?:run|stain\w*|assay|result)\s+(?:is|was|deemed)\s+invalid|"
    r"repeat\w*(?:\s+(?:testing|staining|IHC))?\s+on\s+(?:another|a\s+different|a\s+new|an\s+alternative)\s+"
    r"block|"
    r"(?:delayed|prolonged|poor|inadequate)\s+(?:cold\s+ischa?emi\w*|fixation)[^.;]{0,80}?"
    r"(?:unreliable|not\s+reliable|invalid|cannot|could\s+not)|"
    r"(?:cold\s+ischa?emi\w*|fixation)(?:\s+time)?[^.;]{0,40}?(?:out(?:side)?\s+(?:of\s+)?(?:the\s+)?"
    r"(?:recommended\s+|accepted\s+|validated\s+|ASCO/CAP\s+)?(?:range|limits?|guidelines?))[^.;]{0,80}?"
    r"(?:unreliable|not\s+reliable|invalid|cannot|could\s+not|indeterminate)",
    _I,
)
#: "not performed", "no repeat HER2 testing performed": the statement reports no result.
NOT_PERFORMED_RE: Final = re.compile(
    r"\bnot\s+(?:performed|done|carried\s+out|requested|repeated|indicated|tested)|"
    r"\bno\s+(?:repeat\s+)?(?:HER-?2\s+)?(?:testing|IHC|ISH|FISH|immunohistochemistry)\s+(?:was\s+)?"
    r"(?:performed|done|repeated)|(?:was|were)\s+not\s+(?:performed|repeated|tested|done)",
    _I,
)
