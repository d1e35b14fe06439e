"""SemEval-2023 Task 3 English training spans as PTC (SemEval-2020 Task 11) annotations.

    python -m propscope.training.semeval2023 --ptc ../shared/data/ptc-semeval2020-task11 \
        --s23 ../shared/data/semeval2023-task3 --out benchmarks/results/semeval2023-relabel.json

The 2023 English train set is the 446 PTC train+dev articles, re-annotated with 23 techniques and
lightly re-edited (mostly a newline added or removed), so its offsets are not PTC offsets. This
module aligns each 2023 text to the PTC copy of the same article, carries every span across and
maps its technique onto PTC's 14 classes (`TO_PTC`), so the trainer can read the 2023 spans as
extra or alternative PTC annotation (`ptc_rows`).

Honesty: the 2023 train set holds the PTC *dev* articles too (75 of its 446). PTC dev is our
held-out evaluation split, so rows returned for `split="dev"` must never be trained on, tuned on
or selected with when a model is evaluated on PTC dev (use them only for a model whose reported
figures come from elsewhere, e.g. the shipped model trained on everything once settings are
chosen). The SemEval-2023 *dev* labels are the PTC test annotations relabelled: they are sealed
and this module never reads them (it reads only `en/train-*`).
"""

from __future__ import annotations

import argparse
import difflib
import json
import shlex
import sys
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propscope.eval import ptc
from propscope.techniques import NAMES

# The 23 SemEval-2023 techniques (scorers-data/techniques_subtask3.txt) and the PTC class each one
# becomes; None = no PTC class, the span is dropped and counted. The table follows SOURCE.md's
# measurement on exactly matching spans; the CLI re-measures it (`mapping_check` in the JSON).
#
# | SemEval-2023                     | PTC (SemEval-2020 Task 11)            | why                         |
# |----------------------------------|---------------------------------------|-----------------------------|
# | Appeal_to_Authority              | Appeal_to_Authority                   | renamed                     |
# | Appeal_to_Fear-Prejudice         | Appeal_to_fear-prejudice              | renamed                     |
# | Appeal_to_Popularity             | Bandwagon,Reductio_ad_hitlerum        | bandwagon                   |
# | Guilt_by_Association             | Bandwagon,Reductio_ad_hitlerum        | reductio ad hitlerum        |
# | False_Dilemma-No_Choice          | Black-and-White_Fallacy               | renamed                     |
# | Causal_Oversimplification        | Causal_Oversimplification             | same name                   |
# | Doubt                            | Doubt                                 | same name                   |
# | Exaggeration-Minimisation        | Exaggeration,Minimisation             | renamed                     |
# | Flag_Waving                      | Flag-Waving                           | renamed                     |
# | Loaded_Language                  | Loaded_Language                       | same name                   |
# | Name_Calling-Labeling            | Name_Calling,Labeling                 | renamed                     |
# | Repetition                       | Repetition                            | same name                   |
# | Slogans                          | Slogans                               | same name                   |
# | Conversation_Killer              | Thought-terminating_Cliches           | renamed                     |
# | Whataboutism                     | Whataboutism,Straw_Men,Red_Herring    | split out of the PTC class  |
# | Straw_Man                        | Whataboutism,Straw_Men,Red_Herring    | split out of the PTC class  |
# | Red_Herring                      | Whataboutism,Straw_Men,Red_Herring    | split out of the PTC class  |
# | Appeal_to_Hypocrisy              | Whataboutism,Straw_Men,Red_Herring    | PTC's tu quoque/whataboutism|
# | Obfuscation-Vagueness-Confusion  | –                                     | PTC dropped it from its 14  |
# | Appeal_to_Values                 | –                                     | new in 2023, 0 English spans|
# | Consequential_Oversimplification | –                                     | new in 2023, 0 English spans|
# | Appeal_to_Time                   | –                                     | new in 2023, 0 English spans|
# | Questioning_the_Reputation       | –                                     | new in 2023, 0 English spans|
TO_PTC: dict[str, str | None] = {
    "Appeal_to_Authority": "Appeal_to_Authority",
    "Appeal_to_Fear-Prejudice": "Appeal_to_fear-prejudice",
    "Appeal_to_Popularity": "Bandwagon,Reductio_ad_hitlerum",
    "Guilt_by_Association": "Bandwagon,Reductio_ad_hitlerum",
    "False_Dilemma-No_Choice": "Black-and-White_Fallacy",
    "Causal_Oversimplification": "Causal_Oversimplification",
    "Doubt": "Doubt",
    "Exaggeration-Minimisation": "Exaggeration,Minimisation",
    "Flag_Waving": "Flag-Waving",
    "Loaded_Language": "Loaded_Language",
    "Name_Calling-Labeling": "Name_Calling,Labeling",
    "Repetition": "Repetition",
    "Slogans": "Slogans",
    "Conversation_Killer": "Thought-terminating_Cliches",
    "Whataboutism": "Whataboutism,Straw_Men,Red_Herring",
    "Straw_Man": "Whataboutism,Straw_Men,Red_Herring",
    "Red_Herring": "Whataboutism,Straw_Men,Red_Herring",
    "Appeal_to_Hypocrisy": "Whataboutism,Straw_Men,Red_Herring",
    "Obfuscation-Vagueness-Confusion": None,
    "Appeal_to_Values": None,
    "Consequential_Oversimplification": None,
    "Appeal_to_Time": None,
    "Questioning_the_Reputation": None,
}
# A typo in en/train-labels-subtask-3.txt line 9 (SOURCE.md); normalised wherever a label is read.
ALIASES = {"Appeal_to_Fear-Prejudi-čce": "Appeal_to_Fear-Prejudice"}

PTC_ARTICLES = {"train": "train-articles", "dev": "dev-articles"}
PTC_TC_LABELS = {"train": "train-task2-TC.labels", "dev": "dev-task-TC.labels"}
PTC_SI_TRAIN = "train-task1-SI.labels"
S23_ARTICLES = Path("en", "train-articles-subtask-3")
S23_SPANS = Path("en", "train-labels-subtask-3-spans")

EXACT, APPROXIMATE, FAILED = "exact", "approximate", "failed"
NO_SPAN = "(no 2023 span)"  # the TC label of a PTC gold span no 2023 span matches exactly
NO_GOLD_SPAN = "(no PTC gold span)"  # a 2023 span no PTC gold span matches exactly
DEV_WARNING = (
    "Rows for PTC dev articles come from annotations of the PTC dev split: never train, tune or "
    "select on them when a model is evaluated on PTC dev."
)


# --- alignment --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextAlignment:
    """A monotone map between the non-whitespace characters of two versions of one text.

    Whitespace is ignored on both sides (the 2023 copies differ from PTC mostly in line breaks);
    what is left is aligned with difflib. `to_dst[i]` is the index in `dst_pos` of source
    character i, or -1 where the character was edited away; equal-length replacements (curly vs
    straight quotes) are mapped one to one and marked in `same`."""

    src_pos: list[int]
    dst_pos: list[int]
    to_dst: list[int]
    same: list[bool]


@dataclass(frozen=True, slots=True)
class MappedSpan:
    """Where a source span lands: `exact` (the same non-whitespace characters), `approximate`
    (both ends land on aligned characters but the text between was edited) or `failed` (an end
    falls in edited text, or the span is only whitespace; start = end = -1)."""

    status: str
    start: int
    end: int
    trimmed: bool = False  # the source span began or ended with whitespace, which was left out
    reason: str = ""


def _content(text: str) -> tuple[str, list[int]]:
    positions = [k for k, ch in enumerate(text) if not ch.isspace()]
    return "".join(text[k] for k in positions), positions


def _common_prefix(a: str, b: str) -> int:
    return next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _opcodes(a: str, b: str) -> list[tuple[str, int, int, int, int]]:
    """difflib opcodes, with the common prefix and suffix taken off first: the copies differ in a
    few places, and SequenceMatcher is quadratic on long identical character runs."""
    if a == b:
        return [("equal", 0, len(a), 0, len(b))]
    head = _common_prefix(a, b)
    tail = _common_prefix(a[head:][::-1], b[head:][::-1])
    matcher = difflib.SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=False)
    codes: list[tuple[str, int, int, int, int]]
    codes = [(tag, i + head, i2 + head, j + head, j2 + head) for tag, i, i2, j, j2 in matcher.get_opcodes()]
    codes.insert(0, ("equal", 0, head, 0, head))
    codes.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return codes


def align_texts(src: str, dst: str) -> TextAlignment:
    """Align `src` (a 2023 text) to `dst` (the PTC text of the same article)."""
    a, src_pos = _content(src)
    b, dst_pos = _content(dst)
    to_dst = [-1] * len(a)
    for tag, i1, i2, j1, j2 in _opcodes(a, b):
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            to_dst[i1:i2] = range(j1, j2)
    same = [j >= 0 and a[i] == b[j] for i, j in enumerate(to_dst)]
    return TextAlignment(src_pos, dst_pos, to_dst, same)


def map_span(alignment: TextAlignment, start: int, end: int) -> MappedSpan:
    """The PTC offsets of the source span [start, end), from its first to its last
    non-whitespace character; never moved to a nearby word (an end in edited text fails)."""
    first = bisect_left(alignment.src_pos, start)
    last = bisect_left(alignment.src_pos, end) - 1
    if first > last:
        return MappedSpan(FAILED, -1, -1, reason="the span holds only whitespace")
    j0, j1 = alignment.to_dst[first], alignment.to_dst[last]
    if j0 < 0 or j1 < 0:
        return MappedSpan(FAILED, -1, -1, reason="an end of the span falls in text edited between the copies")
    trimmed = alignment.src_pos[first] != start or alignment.src_pos[last] + 1 != end
    exact = j1 - j0 == last - first and all(alignment.same[first : last + 1])
    status = EXACT if exact else APPROXIMATE
    return MappedSpan(status, alignment.dst_pos[j0], alignment.dst_pos[j1] + 1, trimmed)


# --- reading and relabelling ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Aligned:
    """One 2023 span carried to the PTC text (start = end = -1 when it failed)."""

    article: str
    split: str
    technique: str  # the 2023 technique, aliases normalised
    start: int
    end: int
    status: str
    trimmed: bool
    reason: str = ""


@dataclass
class Relabelled:
    """Every 2023 train span, aligned, plus what was dropped and why."""

    spans: list[Aligned] = field(default_factory=list)
    split_of: dict[str, str] = field(default_factory=dict)  # article -> PTC split
    texts: dict[str, str] = field(default_factory=dict)  # article -> how the copies differ
    no_ptc_copy: list[str] = field(default_factory=list)  # 2023 articles in neither PTC split
    unknown: Counter[str] = field(default_factory=Counter)  # labels not among the 23

    def rows(self, split: str) -> dict[str, list[ptc.TCRow]]:
        """PTC rows per article of `split`: aligned spans of mapped techniques, one row per
        (article, class, start, end) (two 2023 techniques of one class on one span fuse)."""
        out: dict[str, list[ptc.TCRow]] = {a: [] for a, s in sorted(self.split_of.items()) if s == split}
        seen: set[ptc.TCRow] = set()
        for span in self.spans:
            label = TO_PTC.get(span.technique)
            row = ptc.TCRow(span.article, label or "", span.start, span.end)
            if span.split == split and span.status != FAILED and label and row not in seen:
                seen.add(row)
                out[span.article].append(row)
        return out


def read_s23_spans(path: Path) -> list[tuple[str, str, int, int]]:
    """`id<TAB>technique<TAB>start<TAB>end` rows of one 2023 span file (end exclusive)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            article, technique, start, end = line.split("\t")[:4]
            rows.append((article, ALIASES.get(technique, technique), int(start), int(end)))
    return rows


def _ptc_texts(ptc_dir: Path) -> dict[str, tuple[str, str]]:
    texts: dict[str, tuple[str, str]] = {}
    for split, folder in PTC_ARTICLES.items():
        for article, text in ptc.read_articles(ptc_dir / folder).items():
            texts[article] = (split, text)
    return texts


def _difference(src: str, dst: str) -> str:
    if src == dst:
        return "identical"
    return "whitespace" if _content(src)[0] == _content(dst)[0] else "content"


def relabel(ptc_dir: Path, s23_dir: Path) -> Relabelled:
    """Align every SemEval-2023 English train span to the PTC text of its article.

    Args:
        ptc_dir: the PTC folder (train-articles/, dev-articles/).
        s23_dir: the SemEval-2023 Task 3 folder (en/train-articles-subtask-3/,
            en/train-labels-subtask-3-spans/); its sealed dev labels are never read.

    Returns:
        The aligned spans (PTC offsets), the PTC split of each article and what was dropped.
    """
    for folder in (ptc_dir / PTC_ARTICLES["train"], s23_dir / S23_ARTICLES, s23_dir / S23_SPANS):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is missing: pass the PTC folder and the SemEval-2023 folder")
    ptc_texts = _ptc_texts(ptc_dir)
    out = Relabelled()
    for article, text in sorted(ptc.read_articles(s23_dir / S23_ARTICLES).items()):
        spans = read_s23_spans(s23_dir / S23_SPANS / f"article{article}-labels-subtask-3.txt")
        out.unknown.update(t for _, t, _, _ in spans if t not in TO_PTC)
        if article not in ptc_texts:
            out.no_ptc_copy.append(article)
            continue
        split, ptc_text = ptc_texts[article]
        out.split_of[article] = split
        out.texts[article] = _difference(text, ptc_text)
        alignment = align_texts(text, ptc_text)
        for _, technique, start, end in spans:
            m = map_span(alignment, start, end)
            aligned = Aligned(article, split, technique, m.start, m.end, m.status, m.trimmed, m.reason)
            out.spans.append(aligned)
    return out


def ptc_rows(ptc_dir: Path, s23_dir: Path, split: str) -> dict[str, list[ptc.TCRow]]:
    """The SemEval-2023 English train annotations as PTC TC rows, for the PTC articles of `split`.

    Offsets are into the PTC article text (`ptc.read_articles(ptc_dir / "<split>-articles")`),
    techniques are PTC's 14 classes (`TO_PTC`); spans that could not be aligned and techniques
    with no PTC class are left out (the CLI counts them). Every PTC article of the split that the
    2023 set annotates is a key, with an empty list where it has no mapped span. SI spans are the
    rows' (start, end), merged with `ptc.merge_spans`.

    NEVER use the rows of `split="dev"` for a model that is evaluated, tuned or selected on PTC
    dev: they are a second annotation of exactly those articles, and would leak the held-out
    split. The SemEval-2023 dev labels (PTC test, sealed) are not read.

    Args:
        ptc_dir: the PTC folder (SemEval-2020 Task 11).
        s23_dir: the SemEval-2023 Task 3 folder.
        split: "train" or "dev", the PTC split the articles belong to.

    Returns:
        {article id: [TCRow, ...]} for the articles of that split.
    """
    if split not in PTC_ARTICLES:
        raise ValueError(f"split must be one of {sorted(PTC_ARTICLES)}, not {split!r}")
    return relabel(ptc_dir, s23_dir).rows(split)


# --- measurement ------------------------------------------------------------------------------


def _tc_agreement(gold: list[ptc.TCRow], mapped: dict[str, list[ptc.TCRow]]) -> dict[str, Any]:
    """TC agreement with PTC gold as reference: each gold row gets the mapped 2023 label(s) of
    the identical span, or NO_SPAN; scored on all gold rows and on those with such a span."""
    at: dict[tuple[str, int, int], list[str]] = {}
    for rows in mapped.values():
        for r in rows:
            at.setdefault((r.article, r.start, r.end), []).append(r.technique)
    groups: dict[tuple[str, int, int], list[int]] = {}
    for k, r in enumerate(gold):
        groups.setdefault((r.article, r.start, r.end), []).append(k)
    labels = [NO_SPAN] * len(gold)
    for key, rows_k in groups.items():
        for k, label in zip(rows_k, at.get(key, []), strict=False):
            labels[k] = label
    covered = [k for k, r in enumerate(gold) if (r.article, r.start, r.end) in at]
    on_all = ptc.tc_scores(gold, labels)
    on_covered = ptc.tc_scores([gold[k] for k in covered], [labels[k] for k in covered])
    per_technique: dict[str, dict[str, float]] = on_covered["per_technique"]  # type: ignore[assignment]
    return {
        "gold_rows": len(gold),
        "gold_rows_with_identical_2023_span": len(covered),
        "micro_f1_all_gold_rows": on_all["micro_f1"],
        "micro_f1_rows_with_identical_span": on_covered["micro_f1"],
        "per_technique_rows_with_identical_span": {
            t: {k: round(v, 4) for k, v in row.items()} for t, row in per_technique.items()
        },
        "method": "PTC gold TC rows are the reference; each gets the mapped 2023 label of the identical "
        "(start, end) span (several labels aligned to maximise matches, as the official scorer does) or "
        f"{NO_SPAN!r}; scored with propscope.eval.ptc.tc_scores",
    }


def _row_agreement(gold: list[ptc.TCRow], mapped: dict[str, list[ptc.TCRow]]) -> dict[str, Any]:
    """How often a row (with and without its label) is the very same in both annotations."""
    g = set(gold)
    m = {r for rows in mapped.values() for r in rows}
    g_spans = {(r.article, r.start, r.end) for r in g}
    m_spans = {(r.article, r.start, r.end) for r in m}
    return {
        "identical_rows": len(g & m),
        "share_of_mapped_rows_in_gold": round(len(g & m) / len(m), 4) if m else None,
        "share_of_gold_rows_in_mapped": round(len(g & m) / len(g), 4) if g else None,
        "identical_spans": len(g_spans & m_spans),
        "share_of_mapped_spans_in_gold": round(len(g_spans & m_spans) / len(m_spans), 4) if m_spans else None,
        "share_of_gold_spans_in_mapped": round(len(g_spans & m_spans) / len(g_spans), 4) if g_spans else None,
    }


def _unreproduced(gold: list[ptc.TCRow], mapped: dict[str, list[ptc.TCRow]]) -> dict[str, int]:
    """The gold rows no mapped row equals, by what the 2023 annotation has there instead."""
    rows = {r for v in mapped.values() for r in v}
    kinds: Counter[str] = Counter()
    for g in set(gold) - rows:
        near = [r for r in mapped.get(g.article, []) if r.start < g.end and g.start < r.end]
        if any((r.start, r.end) == (g.start, g.end) for r in near):
            kinds["same_span_other_class"] += 1
        elif any(r.technique == g.technique for r in near):
            kinds["same_class_other_boundaries"] += 1
        else:
            kinds["overlapped_by_other_classes_only" if near else "nothing_overlapping"] += 1
    return dict(kinds.most_common())


def _mapping_check(data: Relabelled, gold: list[ptc.TCRow]) -> dict[str, dict[str, int]]:
    """For each 2023 technique, the PTC train gold labels on the identical aligned span (every
    label of a span with several), or NO_GOLD_SPAN."""
    at: dict[tuple[str, int, int], list[str]] = {}
    for r in gold:
        at.setdefault((r.article, r.start, r.end), []).append(r.technique)
    check: dict[str, Counter[str]] = {}
    for s in data.spans:
        if s.split == "train" and s.status != FAILED:
            labels = at.get((s.article, s.start, s.end), [NO_GOLD_SPAN])
            check.setdefault(s.technique, Counter()).update(labels)
    return {t: dict(c.most_common()) for t, c in sorted(check.items())}


def _span_counts(data: Relabelled) -> dict[str, Any]:
    status = Counter(s.status for s in data.spans)
    aligned = status[EXACT] + status[APPROXIMATE]
    by_split = {split: Counter(s.status for s in data.spans if s.split == split) for split in PTC_ARTICLES}
    failed = [
        {"article": s.article, "technique": s.technique, "split": s.split, "reason": s.reason}
        for s in data.spans if s.status == FAILED
    ]
    return {
        "read": len(data.spans),
        "exact": status[EXACT],
        "approximate": status[APPROXIMATE],
        "failed": status[FAILED],
        "aligned_share": round(aligned / len(data.spans), 4) if data.spans else None,
        "by_split": {split: dict(c) for split, c in by_split.items()},
        "edge_whitespace_trimmed": sum(s.trimmed for s in data.spans),
        "failed_spans": failed,
    }


def _class_counts(data: Relabelled, ptc_dir: Path) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for split in PTC_ARTICLES:
        mapped = Counter(r.technique for rows in data.rows(split).values() for r in rows)
        gold = Counter(r.technique for r in ptc.read_tc_labels(ptc_dir / PTC_TC_LABELS[split]))
        counts[split] = {n: {"mapped_2023": mapped[n], "ptc_gold": gold[n]} for n in NAMES}
        counts[split]["total"] = {"mapped_2023": sum(mapped.values()), "ptc_gold": sum(gold.values())}
    return counts


def _dropped(data: Relabelled) -> dict[str, Any]:
    """Spans dropped by the mapping, per 2023 technique, counted before alignment (all spans)."""
    no_class = Counter(s.technique for s in data.spans if s.technique in TO_PTC and not TO_PTC[s.technique])
    rows = sum(len(v) for split in PTC_ARTICLES for v in data.rows(split).values())
    kept = sum(1 for s in data.spans if s.status != FAILED and TO_PTC.get(s.technique))
    return {
        "no_ptc_class": {t: no_class[t] for t in TO_PTC if TO_PTC[t] is None},
        "unknown_labels": dict(data.unknown),
        "same_class_same_span_fused": kept - rows,
    }


def measure(ptc_dir: Path, s23_dir: Path, command: str) -> dict[str, Any]:
    """The relabelling figures written by the CLI (see the module docstring)."""
    data = relabel(ptc_dir, s23_dir)
    train = data.rows("train")
    gold_tc = ptc.read_tc_labels(ptc_dir / PTC_TC_LABELS["train"])
    gold_si = ptc.read_si_labels(ptc_dir / PTC_SI_TRAIN)
    pred_si = {a: [(r.start, r.end) for r in rows] for a, rows in train.items()}
    return {
        "command": command,
        "note": DEV_WARNING + " The SemEval-2023 dev labels (PTC test, relabelled) are sealed and not read.",
        "articles": {
            "read": len(data.split_of) + len(data.no_ptc_copy),
            "by_ptc_split": dict(Counter(data.split_of.values())),
            "without_ptc_copy": data.no_ptc_copy,
            "text_vs_ptc": dict(Counter(data.texts.values())),
            "content_differs": sorted(a for a, d in data.texts.items() if d == "content"),
        },
        "spans": _span_counts(data),
        "mapping": {"table": TO_PTC, "aliases": ALIASES, "dropped": _dropped(data)},
        "class_counts": _class_counts(data, ptc_dir),
        "agreement_ptc_train": {
            "articles": len(train),
            "si": {
                k: round(v, 4) for k, v in ptc.si_scores(pred_si, gold_si).items()
            } | {"gold": PTC_SI_TRAIN, "predicted": "mapped 2023 spans (overlaps merged by the scorer)"},
            "tc": _tc_agreement(gold_tc, train),
            "rows": _row_agreement(gold_tc, train),
            "gold_rows_not_reproduced": _unreproduced(gold_tc, train),
            "mapping_check": _mapping_check(data, gold_tc),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m propscope.training.semeval2023",
        description="Align the SemEval-2023 English train spans to the PTC texts, map them to the 14 "
        "PTC classes and measure them against PTC gold. " + DEV_WARNING,
    )
    parser.add_argument("--ptc", type=Path, required=True, help="PTC folder (SemEval-2020 Task 11)")
    parser.add_argument("--s23", type=Path, required=True, help="SemEval-2023 Task 3 folder")
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the figures")
    args = parser.parse_args(argv)
    command = "python -m propscope.training.semeval2023 " + shlex.join(sys.argv[1:] if argv is None else argv)
    result = measure(args.ptc, args.s23, command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    spans, agree = result["spans"], result["agreement_ptc_train"]
    print(f"spans {spans['read']}: exact {spans['exact']}, approximate {spans['approximate']}, "
          f"failed {spans['failed']}")
    print(f"PTC train agreement: SI F1 {agree['si']['f1']:.4f}, "
          f"TC micro-F1 {agree['tc']['micro_f1_all_gold_rows']:.4f}")
    print(DEV_WARNING, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
