"""SemEval-2025 Task 10, subtask 1 (entity framing): documents, mention files and the official
metrics, re-implemented from the scorer's description in the data's SOURCE.md.

Offsets count `\\r` (some articles use CRLF) and mention ends are inclusive, so every file is
read with `newline=""` and a mention is `text[start:end + 1]`. A few gold offsets sit 1-4
characters right of their mention (SOURCE.md, known quirks): `locate` finds the text nearby for
the context, while the given offsets stay the mention's key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from propscope.errors import IngestError, UsageError

MAIN_ROLES = ("Protagonist", "Antagonist", "Innocent")
FINE_ROLES: dict[str, str] = {  # fine role -> main role, in the scorer's order
    "Guardian": "Protagonist",
    "Martyr": "Protagonist",
    "Peacemaker": "Protagonist",
    "Rebel": "Protagonist",
    "Underdog": "Protagonist",
    "Virtuous": "Protagonist",
    "Instigator": "Antagonist",
    "Conspirator": "Antagonist",
    "Tyrant": "Antagonist",
    "Foreign Adversary": "Antagonist",
    "Traitor": "Antagonist",
    "Spy": "Antagonist",
    "Saboteur": "Antagonist",
    "Corrupt": "Antagonist",
    "Incompetent": "Antagonist",
    "Terrorist": "Antagonist",
    "Deceiver": "Antagonist",
    "Bigot": "Antagonist",
    "Forgotten": "Innocent",
    "Exploited": "Innocent",
    "Victim": "Innocent",
    "Scapegoat": "Innocent",
}
SHIFT = 4  # the largest offset error seen in the data (SOURCE.md)


@dataclass(frozen=True, slots=True)
class Mention:
    """One subtask-1 row: a mention and, in gold or predictions, the roles it is cast in."""

    article: str
    text: str
    start: int
    end: int  # inclusive, as in the files
    main_role: str = ""
    fine_roles: tuple[str, ...] = ()
    line: int = 0  # its line in the file it came from (for messages)

    @property
    def key(self) -> tuple[str, str, int, int]:
        """The scorer's key: every double quote stripped from the mention."""
        return (self.article, self.text.replace('"', ""), self.start, self.end)


def read_raw(path: Path) -> str:
    """A Task 10 file's text with its line endings as they are (offsets count `\\r`)."""
    if not path.is_file():
        raise IngestError(IngestError.E_NOT_FOUND.format(source=path), str(path))
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def read_documents(folder: Path) -> dict[str, str]:
    """`file name -> raw text` for every `*.txt` in a documents folder (Task 10 article ids
    are file names, `EN_UA_300009.txt`; `document` also finds an id given without `.txt`)."""
    if not folder.is_dir():
        raise IngestError(IngestError.E_NOT_FOUND.format(source=folder), str(folder))
    return {p.name: read_raw(p) for p in sorted(folder.glob("*.txt"))}


def document(documents: dict[str, str], article: str) -> str | None:
    """The text of `article` (an id with or without `.txt`), None when the folder lacks it."""
    found = documents.get(article)
    return found if found is not None else documents.get(article + ".txt")


def _row_error(path: Path, line: int, reason: str) -> UsageError:
    return UsageError(UsageError.E_TASK10_ROW.format(path=path, line=line, reason=reason))


def _parse_row(path: Path, line: int, fields: list[str], labelled: bool) -> Mention:
    """One row, checked: four key columns, integer offsets, start <= end; roles when labelled."""
    if len(fields) < (5 if labelled else 4):
        raise _row_error(path, line, f"{len(fields)} column(s), expected {'5 or more' if labelled else 4}")
    article, text, start_s, end_s = fields[:4]
    if not article or not text:
        raise _row_error(path, line, "empty article id or mention")
    try:
        start, end = int(start_s), int(end_s)
    except ValueError:
        raise _row_error(path, line, f"offsets {start_s!r} and {end_s!r} must be integers") from None
    if start < 0 or end < start:
        raise _row_error(path, line, f"offsets {start}-{end}: need 0 <= start <= end")
    if not labelled:
        return Mention(article, text, start, end, line=line)
    main, fine = fields[4], tuple(r for r in fields[5:] if r)
    _check_roles(path, line, main, fine)
    return Mention(article, text, start, end, main, fine, line)


def _check_roles(path: Path, line: int, main: str, fine: Sequence[str]) -> None:
    def fail(reason: str) -> UsageError:
        return UsageError(UsageError.E_TASK10_ROLE.format(path=path, line=line, reason=reason))

    if main not in MAIN_ROLES:
        raise fail(f"unknown main role {main!r}")
    if not fine:
        raise fail("no fine role")
    unknown = [r for r in fine if r not in FINE_ROLES]
    if unknown:
        raise fail(f"unknown fine role {unknown[0]!r}")


def read_mentions(path: Path, labelled: bool = False) -> list[Mention]:
    """A mentions file (4 columns) or, `labelled`, a subtask-1 gold file, in file order.

    A header line (`article_id<TAB>...`) and blank lines are skipped; a bad row is E420/E423
    naming its line; a key seen twice is E420 too (the scorer refuses duplicates).
    """
    mentions: list[Mention] = []
    seen: dict[tuple[str, str, int, int], int] = {}
    for number, line in enumerate(read_raw(path).splitlines(), start=1):
        if not line.strip() or (number == 1 and line.startswith("article_id")):
            continue
        mention = _parse_row(path, number, line.split("\t"), labelled)
        if mention.key in seen:
            raise _row_error(path, number, f"the same mention as line {seen[mention.key]}")
        seen[mention.key] = number
        mentions.append(mention)
    return mentions


def locate(text: str, mention: Mention) -> tuple[int, int] | None:
    """The mention's span in its article, end exclusive: the given offsets when the text is
    there, else the nearest place within SHIFT characters where it is; None when neither."""
    start, end = mention.start, mention.end + 1
    if text[start:end] == mention.text:
        return start, end
    for shift in range(1, SHIFT + 1):
        for s in (start - shift, start + shift):
            if s >= 0 and text[s : s + len(mention.text)] == mention.text:
                return s, s + len(mention.text)
    return None


def check_articles(path: Path, mentions: Sequence[Mention], documents: dict[str, str], folder: Path) -> None:
    """E421 for a mention of an article not in the folder, E422 for offsets past its end."""
    for m in mentions:
        text = document(documents, m.article)
        if text is None:
            raise UsageError(
                UsageError.E_TASK10_ARTICLE.format(
                    path=path, line=m.line, article=m.article, documents=folder
                )
            )
        length = len(text)
        if m.end >= length:
            raise UsageError(
                UsageError.E_TASK10_OFFSETS.format(
                    path=path, line=m.line, start=m.start, end=m.end, article=m.article, length=length
                )
            )


def pair_gold(
    path: Path, gold: Sequence[Mention], predicted: Sequence[Mention]
) -> list[tuple[Mention, Mention]]:
    """(gold, prediction) per mention, matched by key; E424 unless both hold the same keys."""
    by_key = {p.key: p for p in predicted}
    gold_keys = {g.key for g in gold}
    missing = [g for g in gold if g.key not in by_key]
    extra = [p for p in predicted if p.key not in gold_keys]
    if missing or extra:
        first = (missing or extra)[0]
        where = "mentions file only" if extra and not missing else "gold only"
        reason = (
            f"{len(missing)} in gold only, {len(extra)} in the mentions file only, e.g. "
            f"{first.article} {first.text!r} {first.start}-{first.end} ({where})"
        )
        raise UsageError(UsageError.E_TASK10_KEYS.format(path=path, reason=reason))
    return [(g, by_key[g.key]) for g in gold]


def write_predictions(path: Path, mentions: Sequence[Mention]) -> None:
    """Predictions in the subtask-1 format, LF-terminated, in the order given."""
    lines = [
        "\t".join([m.article, m.text, str(m.start), str(m.end), m.main_role, *m.fine_roles]) + "\n"
        for m in mentions
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("".join(lines))


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _main_macro_f1(pairs: Sequence[tuple[Mention, Mention]]) -> float:
    """sklearn's macro-F1 over the main roles present in gold or predictions."""
    present = [r for r in MAIN_ROLES if any(r in (g.main_role, p.main_role) for g, p in pairs)]
    scores = [
        _f1(
            sum(g.main_role == p.main_role == role for g, p in pairs),
            sum(p.main_role == role != g.main_role for g, p in pairs),
            sum(g.main_role == role != p.main_role for g, p in pairs),
        )
        for role in present
    ]
    return sum(scores) / len(scores) if scores else 0.0


def framing_scores(pairs: Sequence[tuple[Mention, Mention]]) -> dict[str, float]:
    """Exact match ratio on fine-role sets (the ranking measure), fine-role micro P/R/F1
    (`zero_division=1`, as the scorer), main-role accuracy and main-role macro-F1."""
    gold = [set(g.fine_roles) for g, _ in pairs]
    pred = [set(p.fine_roles) for _, p in pairs]
    tp = sum(len(g & p) for g, p in zip(gold, pred, strict=True))
    fp = sum(len(p - g) for g, p in zip(gold, pred, strict=True))
    fn = sum(len(g - p) for g, p in zip(gold, pred, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    n = len(pairs) or 1
    return {
        "exact_match_ratio": sum(g == p for g, p in zip(gold, pred, strict=True)) / n,
        "fine_precision": precision,
        "fine_recall": recall,
        "fine_micro_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "main_role_accuracy": sum(g.main_role == p.main_role for g, p in pairs) / n,
        "main_role_macro_f1": _main_macro_f1(pairs),
        "mentions": len(pairs),
    }
