"""SemEval-2025 Task 10 subtask 2 (narrative classification): the file format, the official
metric and `propscope eval narrative-taxonomy`.

The metric is re-implemented from the organisers' scorer as described in the data's SOURCE.md:
per article, gold and prediction are one-hot over the scorer's class lists (labels outside the
lists are dropped on both sides), F1 is `2|G∩P| / (|G|+|P|)` (0 when either side is empty), and
the score is its mean over articles: on narratives (coarse) and on subnarratives (fine, the
ranking measure). The scorer pairs gold and predictions by file order; this one pairs them by
article id, and the predictions file is written in the gold file's order when gold is given, so
both scorers read it alike.

Task 10 files count `\\r` in offsets, so they are read with `newline=""` throughout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propscope.errors import UsageError
from propscope.eval.task10 import read_raw

OTHER = "Other"  # the taxonomy's label for an article with no narrative, on both levels


@dataclass(frozen=True, slots=True)
class ArticleLabels:
    """One subtask-2 row: an article's narratives and subnarratives, deduplicated, in order."""

    article: str
    narratives: tuple[str, ...]
    subnarratives: tuple[str, ...]


def _labels(field: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x.strip() for x in field.split(";") if x.strip()))


def read_gold(path: Path) -> list[ArticleLabels]:
    """A subtask-2 file `id<TAB>narr;narr<TAB>subnarr;subnarr`, in file order.

    A line without three fields is E425, a repeated id E426, an empty label list E427, each
    naming file:line.
    """
    rows: list[ArticleLabels] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(read_raw(path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) != 3:
            raise UsageError(UsageError.E_NARR_GOLD_FIELDS.format(where=where, found=len(fields)))
        article, narratives, subnarratives = fields[0].strip(), _labels(fields[1]), _labels(fields[2])
        if article in seen:
            message = UsageError.E_NARR_GOLD_DUPLICATE.format(where=where, id=article, first=seen[article])
            raise UsageError(message)
        if not narratives or not subnarratives:
            raise UsageError(UsageError.E_NARR_GOLD_EMPTY.format(where=where, id=article))
        seen[article] = number
        rows.append(ArticleLabels(article, narratives, subnarratives))
    return rows


def format_row(row: ArticleLabels, parents: dict[str, str]) -> str:
    """One predictions line in the official aligned form: narrative i is subnarrative i's parent
    (narratives repeat); `Other<TAB>Other` for an article with none."""
    subs = list(row.subnarratives) or [OTHER]
    narratives = [parents.get(s, OTHER if s == OTHER else s.rsplit(": ", 1)[0]) for s in subs]
    return f"{row.article}\t{';'.join(narratives)}\t{';'.join(subs)}\n"


def write_predictions(path: Path, rows: Sequence[ArticleLabels], parents: dict[str, str]) -> None:
    """The predictions file, one line per article in the order given (E406 if unwritable)."""
    try:
        path.write_text("".join(format_row(r, parents) for r in rows), encoding="utf-8", newline="")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        message = UsageError.E_OUTPUT.format(option="--predictions-out", path=path, reason=reason)
        raise UsageError(message) from exc


def samples_f1(gold: Sequence[set[str]], predicted: Sequence[set[str]]) -> tuple[float, float]:
    """Mean and (population) standard deviation over articles of per-article F1."""
    scores = [
        2 * len(g & p) / (len(g) + len(p)) if g and p else 0.0
        for g, p in zip(gold, predicted, strict=True)
    ]
    if not scores:
        return 0.0, 0.0
    mean = sum(scores) / len(scores)
    return mean, (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5


def scores(
    gold: Sequence[ArticleLabels],
    predicted: Sequence[ArticleLabels],
    narratives: Iterable[str],
    subnarratives: Iterable[str],
) -> dict[str, float]:
    """Samples-F1 on narratives (coarse) and subnarratives (fine) against the class lists.

    Args:
        gold: the gold rows.
        predicted: one row per gold article (matched by id; E429 when the id sets differ).
        narratives: the scorer's narrative list (labels outside it are dropped).
        subnarratives: the scorer's subnarrative list.

    Returns:
        f1_coarse, f1_coarse_sd, f1_fine, f1_fine_sd and articles.
    """
    by_id = {p.article: p for p in predicted}
    _check_ids([g.article for g in gold], list(by_id), "the gold file", "the predictions")
    coarse, fine = set(narratives), set(subnarratives)
    pairs = [(g, by_id[g.article]) for g in gold]
    c_mean, c_sd = samples_f1(
        [set(g.narratives) & coarse for g, _ in pairs], [set(p.narratives) & coarse for _, p in pairs]
    )
    f_mean, f_sd = samples_f1(
        [set(g.subnarratives) & fine for g, _ in pairs], [set(p.subnarratives) & fine for _, p in pairs]
    )
    return {
        "f1_coarse": c_mean, "f1_coarse_sd": c_sd, "f1_fine": f_mean, "f1_fine_sd": f_sd,
        "articles": len(pairs),
    }


def _check_ids(gold: Sequence[str], other: Sequence[str], gold_name: str, other_name: str) -> None:
    """E429 unless both sides hold the same articles."""
    missing, extra = sorted(set(gold) - set(other)), sorted(set(other) - set(gold))
    if missing or extra:
        raise UsageError(UsageError.E_NARR_GOLD_IDS.format(
            gold=gold_name, other=other_name, missing=len(missing), extra=len(extra),
            example=(missing or extra)[0],
        ))


def read_documents(folder: Path) -> list[tuple[str, str]]:
    """(article id, raw text) for every `*.txt` in `folder`, sorted by id (the file name, with
    `.txt`, as Task 10 ids are); E428 when there is none."""
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not files:
        raise UsageError(UsageError.E_NARR_NO_ARTICLES.format(path=folder))
    return [(p.name, read_raw(p)) for p in files]


def predict(documents: Sequence[tuple[str, str]], model_dir: Path) -> list[ArticleLabels]:
    """The `narrative_labels` analyser's labels for each (id, text), in order."""
    from propscope.analyzers.narrative_taxonomy import NarrativeLabelsAnalyzer
    from propscope.document import Document

    analyzer = NarrativeLabelsAnalyzer(model_dir=model_dir)
    rows = []
    for k in range(0, len(documents), 16):
        chunk = documents[k : k + 16]
        docs = [Document(text) for _, text in chunk]
        found = analyzer.analyze(docs)
        analyzer.finish(docs)
        for (article, _), ann in zip(chunk, found, strict=True):
            labels = ann.narrative_labels
            rows.append(ArticleLabels(
                article,
                tuple(dict.fromkeys(x.narrative for x in labels)),
                tuple(dict.fromkeys(x.subnarrative for x in labels)),
            ))
    return rows


def eval_narrative_taxonomy_command(
    documents: Path, predictions_out: Path, model_dir: Path, gold: Path | None, json_out: bool
) -> str:
    """What `propscope eval narrative-taxonomy` prints.

    Args:
        documents: a folder of Task 10 articles (`<id>.txt`).
        predictions_out: where the predictions file goes: sorted by article id, or in the gold
            file's order when `gold` is given (the official scorer pairs by line order).
        model_dir: the profile's model folder (its narrative head).
        gold: an optional subtask-2 file to score against.
        json_out: one JSON object instead of text.

    Returns:
        The text to print.
    """
    from propscope.analyzers.narrative_taxonomy import load_head

    gold_rows = read_gold(gold) if gold is not None else None
    docs = read_documents(documents)
    if gold_rows is not None:
        ids = [g.article for g in gold_rows]
        _check_ids(ids, [a for a, _ in docs], f"--gold {gold}", f"--documents {documents}")
        order = {g.article: k for k, g in enumerate(gold_rows)}
        docs.sort(key=lambda d: order[d[0]])
    head = load_head(str(model_dir))  # cached: the analyser below reuses it
    rows = predict(docs, model_dir)
    write_predictions(predictions_out, rows, head.taxonomy.parents)
    report: dict[str, Any] = {"articles": len(rows), "predictions": str(predictions_out)}
    if gold_rows is not None:
        report.update(scores(gold_rows, rows, head.taxonomy.narrative_list, head.taxonomy.subnarrative_list))
    if json_out:
        return json.dumps(report)
    if gold_rows is None:
        return f"wrote {len(rows)} articles' narratives to {predictions_out}"
    return (
        f"F1@coarse {report['f1_coarse']:.3f} ({report['f1_coarse_sd']:.3f})  "
        f"F1@fine {report['f1_fine']:.3f} ({report['f1_fine_sd']:.3f})  articles {len(rows)}"
    )
