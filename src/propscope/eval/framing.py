"""`propscope eval framing`: the entity framing head on SemEval-2025 Task 10 subtask-1 files.

Reads the documents folder and a mentions file (`article_id<TAB>mention<TAB>start<TAB>end`, end
inclusive), frames every mention with the profile's head (the same features and decision as the
`entities` analyser) and writes one prediction line per mention in the mentions file's order,
the order the official scorer pairs rows by. With a gold file it prints the official figures.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from propscope.analyzers import _spacy
from propscope.analyzers.techniques import load_model
from propscope.errors import UsageError
from propscope.eval import task10
from propscope.eval.task10 import Mention
from propscope.models.framing import load_head, mention_features


def context_spans(
    path: Path, documents: dict[str, str], mentions: Sequence[Mention]
) -> tuple[list[tuple[int, int]], list[str]]:
    """Where each mention's context is read (end exclusive), and a note per mention whose
    offsets do not hold its text.

    As SOURCE.md describes, a few gold offsets sit 1-4 characters right of the mention: the text
    is looked for nearby and read there; the given offsets stay the key of its prediction line.
    When it is nowhere near, the given span is read as it is.
    """
    spans, notes = [], []
    for m in mentions:
        text = task10.document(documents, m.article) or ""
        found = task10.locate(text, m)
        if found is None:
            notes.append(
                f"{path}:{m.line}: {m.text!r} is not at or near {m.start}-{m.end}; read the given span"
            )
            found = (m.start, m.end + 1)
        elif found[0] != m.start:
            notes.append(
                f"{path}:{m.line}: {m.text!r} found {found[0] - m.start:+d} characters off; "
                "read there, key kept"
            )
        spans.append(found)
    return spans, notes


def predict(
    documents: dict[str, str], mentions: Sequence[Mention], spans: Sequence[tuple[int, int]], folder: Path
) -> list[Mention]:
    """The mentions with their predicted roles, in the given order (one parse and one encoder
    pass per article)."""
    model, head = load_model(str(folder)), load_head(str(folder))
    by_article: dict[str, list[int]] = {}
    for k, m in enumerate(mentions):
        by_article.setdefault(m.article, []).append(k)
    out: list[Mention | None] = [None] * len(mentions)
    for article, ks in by_article.items():
        text = task10.document(documents, article) or ""
        features = mention_features(
            model, text, _spacy.plain_sentences(text), [spans[k] for k in ks], keep=False
        )
        for k, frame in zip(ks, head.frame(features), strict=True):
            m = mentions[k]
            out[k] = Mention(m.article, m.text, m.start, m.end, frame.main_role, frame.fine_roles, m.line)
    return [m for m in out if m is not None]


def evaluate(
    documents_dir: Path,
    mentions_file: Path,
    predictions_out: Path,
    folder: Path,
    gold_file: Path | None = None,
) -> dict[str, Any]:
    """Frame, write the predictions, score against `gold_file` when given.

    Returns:
        {"mentions", "articles", "predictions", "notes", "scores"?}; input errors are E420-E424.
    """
    documents = task10.read_documents(documents_dir)
    mentions = task10.read_mentions(mentions_file)
    task10.check_articles(mentions_file, mentions, documents, documents_dir)
    gold = task10.read_mentions(gold_file, labelled=True) if gold_file else None
    spans, notes = context_spans(mentions_file, documents, mentions)
    predicted = predict(documents, mentions, spans, folder)
    try:
        task10.write_predictions(predictions_out, predicted)
    except OSError as exc:
        raise UsageError(
            UsageError.E_OUTPUT.format(
                option="--predictions-out", path=predictions_out, reason=exc.strerror or exc
            )
        ) from exc
    report: dict[str, Any] = {
        "mentions": len(predicted),
        "articles": len({m.article for m in mentions}),
        "predictions": str(predictions_out),
        "model": str(folder),
        "notes": notes,
    }
    if gold is not None and gold_file is not None:
        scores = task10.framing_scores(task10.pair_gold(gold_file, gold, predicted))
        report["scores"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}
    return report


def format_report(report: dict[str, Any]) -> str:
    """Plain text: counts, then the scores (the scorer's figures plus main-role macro-F1)."""
    lines = [f"mentions {report['mentions']}  articles {report['articles']}  -> {report['predictions']}"]
    if "scores" in report:
        s = report["scores"]
        lines.append(
            f"EMR {s['exact_match_ratio']:.4f}  fine micro-P {s['fine_precision']:.4f}  "
            f"micro-R {s['fine_recall']:.4f}  micro-F1 {s['fine_micro_f1']:.4f}"
        )
        lines.append(
            f"main role accuracy {s['main_role_accuracy']:.4f}  macro-F1 {s['main_role_macro_f1']:.4f}"
        )
    return "\n".join(lines)


def eval_framing_command(
    documents: Path, mentions: Path, predictions_out: Path, folder: Path, gold: Path | None, json_out: bool
) -> str:
    """What `propscope eval framing` prints; notes on shifted offsets go to stderr.

    Args:
        documents: folder of the subtask-1 articles (`<article_id>` file names).
        mentions: `article_id<TAB>mention<TAB>start<TAB>end` rows (end inclusive).
        predictions_out: the subtask-1 prediction file to write.
        folder: the profile's technique model folder (encoder + framing head).
        gold: a subtask-1 annotation file of the same mentions, to score against.
        json_out: one JSON object instead of text.
    """
    report = evaluate(documents, mentions, predictions_out, folder, gold)
    for note in report["notes"]:
        print(f"note: {note}", file=sys.stderr)
    return json.dumps(report, indent=2) if json_out else format_report(report)
