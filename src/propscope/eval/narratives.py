"""`propscope eval narratives`: the catalogue matcher on EUvsDisinfo cases, abstention measured.

Each case summary of the held-out part (propscope.eval.euvsdisinfo: a fixed hash split by case)
is analysed as a document by the named analyser, exactly as `propscope analyze` would. Figures:

- top-1: the first narrative shown against the case's gold (cases with a mapped keyword only);
  abstaining is a miss, a wrong narrative is a false positive and a miss.
- top-3: a gold narrative among the three best-scoring, regardless of the threshold, and among
  the (at most three first) narratives shown.
- abstention: coverage (cases shown any narrative), precision of the first narrative shown over
  every case that shows one (a case without a mapped keyword counts as wrong), and how often the
  matcher abstains on cases whose keywords map to no catalogue narrative.
- calibration: expected calibration error and a reliability table of the scores, over every
  (case, narrative) pair, and over the first narrative of each case.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from propscope.analyzers.narratives import ANALYZERS, CatalogueMatching
from propscope.document import Document
from propscope.errors import UsageError
from propscope.eval.euvsdisinfo import Case, part_of, read_cases

BINS = 10  # equal-width probability bins for ECE and the reliability table
DEFAULT_DATA = Path("data") / "euvsdisinfo"


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    """Precision, recall and F1 with the counts."""
    p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / max(p + r, 1e-9), 4),
            "tp": tp, "fp": fp, "fn": fn}  # fmt: skip


def top1(shown: Sequence[str | None], golds: Sequence[frozenset[str]]) -> dict[str, float]:
    """Top-1 precision/recall/F1 over the cases with gold; `None` is an abstention."""
    pairs = [(p, g) for p, g in zip(shown, golds, strict=True) if g]
    tp = sum(p in g for p, g in pairs)
    fp = sum(p is not None and p not in g for p, g in pairs)
    return prf(tp, fp, len(pairs) - tp)


def top3(best: np.ndarray, ids: Sequence[str], golds: Sequence[frozenset[str]]) -> float:
    """Share of cases with gold that have a gold narrative among the 3 best scores."""
    rows = [(row, g) for row, g in zip(best, golds, strict=True) if g]
    hits = sum(any(ids[j] in g for j in np.argsort(-row)[:3]) for row, g in rows)
    return round(hits / max(len(rows), 1), 4)


def abstention(shown: Sequence[Sequence[str]], golds: Sequence[frozenset[str]]) -> dict[str, float]:
    """Coverage, precision of what is shown, and abstention where nothing should be shown."""
    firsts = [s[0] if s else None for s in shown]
    answered = [(f, g) for f, g in zip(firsts, golds, strict=True) if f is not None]
    unmapped = [f for f, g in zip(firsts, golds, strict=True) if not g]
    mapped = [s for s, g in zip(shown, golds, strict=True) if g]
    return {
        "cases": len(golds),
        "coverage": round(len(answered) / max(len(golds), 1), 4),
        "coverage_cases_with_gold": round(sum(bool(s) for s in mapped) / max(len(mapped), 1), 4),
        "precision_of_first_shown": round(sum(f in g for f, g in answered) / max(len(answered), 1), 4),
        "cases_without_gold": len(unmapped),
        "abstains_without_gold": round(sum(f is None for f in unmapped) / max(len(unmapped), 1), 4),
        "gold_in_first_3_shown": round(
            sum(bool(set(s[:3]) & g) for s, g in zip(shown, golds, strict=True) if g) / max(len(mapped), 1), 4
        ),
    }


def reliability(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> dict[str, Any]:
    """ECE over equal-width bins and the table behind it (bins with no score are left out)."""
    p = np.clip(p, 0.0, 1.0)
    which = np.minimum((p * bins).astype(int), bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            mean_p, rate = float(p[mask].mean()), float(y[mask].mean())
            ece += mask.sum() / len(p) * abs(mean_p - rate)
            table.append({"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "n": int(mask.sum()),
                          "mean_score": round(mean_p, 4), "observed": round(rate, 4)})  # fmt: skip
    return {"ece": round(ece, 4), "pairs": len(p), "table": table}


def calibration(best: np.ndarray, ids: Sequence[str], golds: Sequence[frozenset[str]]) -> dict[str, Any]:
    """Reliability of every (case, narrative) score, and of each case's best narrative."""
    y = np.array([[n in g for n in ids] for g in golds], dtype=np.float64).reshape(best.shape)
    first = best.argmax(axis=1) if best.size else np.zeros(0, dtype=np.int64)
    rows = np.arange(len(best))
    return {
        "every_pair": reliability(best.ravel(), y.ravel()),
        "best_narrative": reliability(best[rows, first], y[rows, first]),
    }


def score_cases(analyzer: CatalogueMatching, cases: Sequence[Case]) -> dict[str, Any]:
    """Every figure for `cases`, from one `match` run of the analyser over their summaries."""
    ids = list(analyzer.matcher.ids)
    started = time.perf_counter()
    matches = analyzer.match([Document(c.summary) for c in cases])
    seconds = time.perf_counter() - started
    shown = [[n.id for n in m.narratives] for m in matches]
    best = np.stack([m.best for m in matches]) if matches else np.zeros((0, len(ids)))
    golds = [c.gold for c in cases]
    return {
        "cases": len(cases),
        "cases_with_gold": sum(bool(g) for g in golds),
        "top1": top1([s[0] if s else None for s in shown], golds),
        "top3_regardless_of_threshold": top3(best, ids, golds),
        "abstention": abstention(shown, golds),
        "calibration": calibration(best, ids, golds),
        "seconds": round(seconds, 1),
    }


def data_folder(shared: Path | None, data: Path | None) -> Path:
    """The EUvsDisinfo folder (or file) from --data, or inside --shared (E432 for both)."""
    if shared is not None and data is not None:
        raise UsageError(UsageError.E_NARRATIVE_DATA.format(shared=shared, data=data))
    if data is not None:
        return data
    return (shared if shared is not None else Path("..") / "shared") / DEFAULT_DATA


def evaluate(folder: Path, analyzer_name: str = "narratives", part: str = "held-out") -> dict[str, Any]:
    """The report for one analyser on one part of the cases in `folder`.

    Args:
        folder: a euvsdisinfo folder (or the cases CSV itself).
        analyzer_name: one of ANALYZERS (E433 otherwise).
        part: `held-out` (the figures to report), `train` or `all`.
    """
    if analyzer_name not in ANALYZERS:
        raise UsageError(
            UsageError.E_NARRATIVE_ANALYZER.format(analyzers=", ".join(ANALYZERS), name=analyzer_name)
        )
    cases = part_of(read_cases(folder), part)
    if not cases:
        raise UsageError(UsageError.E_NARRATIVE_EMPTY.format(path=folder, part=part))
    analyzer = ANALYZERS[analyzer_name]()
    report = {"analyzer": analyzer_name, "version": analyzer.version, "part": part,
              "threshold": round(analyzer.threshold, 4), **score_cases(analyzer, cases)}  # fmt: skip
    return report


def summary_text(report: dict[str, Any]) -> str:
    """The few lines `eval narratives` prints without --json."""
    t1, ab, cal = report["top1"], report["abstention"], report["calibration"]
    return "\n".join(
        [
            f"{report['analyzer']} ({report['version']}) on the {report['part']} part: "
            f"{report['cases']} cases, {report['cases_with_gold']} with a catalogue narrative",
            f"top-1 F1 {t1['f1']:.3f} (P {t1['precision']:.3f} R {t1['recall']:.3f}); "
            f"top-3 {report['top3_regardless_of_threshold']:.3f} regardless of threshold, "
            f"{ab['gold_in_first_3_shown']:.3f} among those shown",
            f"threshold {report['threshold']:.3f}: coverage {ab['coverage']:.3f}, precision of first "
            f"shown {ab['precision_of_first_shown']:.3f}, abstains on {ab['abstains_without_gold']:.3f} "
            f"of {ab['cases_without_gold']} cases with no catalogue narrative",
            f"ECE {cal['every_pair']['ece']:.3f} over every (case, narrative) pair, "
            f"{cal['best_narrative']['ece']:.3f} over each case's best narrative",
        ]
    )


def eval_narratives_command(
    shared: Path | None, data: Path | None, as_json: bool, analyzer_name: str, part: str = "held-out"
) -> str:
    """What `propscope eval narratives` prints: a JSON object, or a few lines of text."""
    report = evaluate(data_folder(shared, data), analyzer_name, part)
    return json.dumps(report, indent=1, allow_nan=False) if as_json else summary_text(report)
