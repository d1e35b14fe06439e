"""Speaker attribution of the `claims` analyser, on hand-labelled reported statements.

Reads tests/data/attribution_labelled.tsv (227 statements in 16 PTC and SemEval-2025 Task 10
articles under ../shared/data; guidelines in tests/data/attribution_guidelines.md) and scores,
per split (`dev`: the articles looked at while the rules were improved; `test`: measured only
before and after) and overall:

* `rules`: the attribution rules on every sentence the analyser considers (its candidates),
  check-worthiness aside: speaker precision / recall / F1 over all gold statements;
* `analyser`: the claims the analyser outputs (check-worthy sentences only, at its current head
  and threshold): precision over its attributed claims, recall over all gold statements and
  over the gold statements inside its claims (`*_in_output`).

Scoring rules: src/propscope/eval/attribution.py.

    python benchmarks/attribution.py [--shared ../shared] [--label before|after]
                                     [--modes rules,analyser]

Writes benchmarks/results/attribution.json (each mode under the `--label` key; others kept). Without
../shared it prints why and exits 0.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from propscope.analyzers._actors import ActorTable
from propscope.analyzers.claims import ClaimsAnalyzer
from propscope.document import Claim, Document
from propscope.eval.attribution import Gold, Predicted, Tally, by_article, read_article, read_fixture

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "attribution_labelled.tsv"
RESULTS = ROOT / "benchmarks" / "results" / "attribution.json"
PROTOCOL = (
    "227 statements, 16 articles, labelled before the analyser ran on them; split by article: "
    "rules changed looking at `dev` only; `test` scored before (label `before`) and after (`after`). "
    "`rules`: attribution on every candidate sentence; `analyser`: check-worthy claims only, at the "
    "head and threshold current when run (another helper is changing them). Speaker right: sentence "
    "overlaps a gold statement and speaker span overlaps gold speaker/antecedent or names the same "
    "canonical speaker (propscope.eval.attribution)."
)
ALIASES = {alias: actor for alias, (actor, _) in ActorTable.load().aliases.items()}


def predicted(claims: list[Claim]) -> list[Predicted]:
    """Claims as the scorer reads them."""
    return [
        Predicted(
            c.start,
            c.end,
            (c.speaker.start, c.speaker.end) if c.speaker else None,
            getattr(c, "speaker_actor", None),
            c.verb,
            c.quote,
        )
        for c in claims
    ]


def outputs(analyzer: ClaimsAnalyzer, text: str, mode: str) -> list[Predicted]:
    """The sentences a mode scores: every candidate (`rules`) or the analyser's claims."""
    if mode == "rules":
        return predicted(analyzer.attributed(text))
    return predicted(list(analyzer.analyze([Document(text)])[0].claims))


def score(shared: Path, golds: list[Gold], mode: str) -> dict[str, Any]:
    """Figures of one mode, per split and overall."""
    analyzer = ClaimsAnalyzer()
    tallies = {split: Tally(aliases=ALIASES) for split in ("dev", "test", "all")}
    for article, group in by_article(golds).items():
        text = read_article(shared, article)
        preds = outputs(analyzer, text, mode)
        for split in (group[0].split, "all"):
            tallies[split].add(text, group, preds)
    return {split: tally.figures() for split, tally in tallies.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--label", default="after", help="key to write the figures under")
    parser.add_argument("--modes", default="rules,analyser", help="comma-separated: rules, analyser")
    args = parser.parse_args(argv)
    golds = read_fixture(FIXTURE)
    if not (args.shared / "data" / golds[0].article).is_file():
        print(f"skipped: the labelled articles are not under {args.shared}/data (../shared absent)")
        return 0
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"benchmark": "attribution"}
    results["protocol"] = PROTOCOL
    entry = results.setdefault(args.label, {})
    entry["fixture"] = {"statements": len(golds), "articles": len(by_article(golds))}
    for mode in args.modes.split(","):
        entry[mode] = {
            "command": "python benchmarks/attribution.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "version": ClaimsAnalyzer.version,
            "machine": {"python": platform.python_version(), "platform": platform.platform()},
            **score(args.shared, golds, mode),
        }
        print(mode, json.dumps(entry[mode], indent=1))
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
