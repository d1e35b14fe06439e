"""Planted text reuse, kind by kind: recall, precision and span accuracy of `corpus coordination`.

    python benchmarks/reuse_planted.py                          # generated text and real PTC text
    python benchmarks/reuse_planted.py --source synthetic --docs 5000 --campaigns 60

The corpora come from `propscope.corpus.synthetic`: campaigns of six kinds (a paragraph merged into
a neighbour's paragraph, multi-paragraph copies, half paragraphs, swapped sentences, 8-10% of words
edited, text without line breaks), every copy edited on its own, plus decoys that must not be
campaigns (paraphrases within an hour, one quote printed weeks apart, outlet boilerplate). With
`--source ptc` the organic articles and the planted passages are real news text: the PTC articles
of SemEval-2020 task 11 in ../shared/data (read at run time, never committed).

A planted campaign counts as found when one reported campaign holds >= 80% of its outlets and
names its first publisher; a reported campaign is correct when most of its documents belong to one
planted campaign. Writes benchmarks/results/corpus-planted.json with the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from propscope.corpus import synthetic
from propscope.corpus.coordination import Campaign, coordinate
from propscope.corpus.reuse import Member, ReuseGroup, find_reuse
from propscope.document import Document
from propscope.store import Store

RESULTS = Path(__file__).with_name("results") / "corpus-planted.json"
PTC = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptc-semeval2020-task11"
OUTLET_SHARE = 0.8  # the share of a campaign's outlets a found campaign must hold


def ptc_texts() -> list[str]:
    files = sorted(PTC.glob("*-articles/*.txt"))
    if not files:
        sys.exit(f"no PTC articles under {PTC}")
    return [f.read_text(encoding="utf-8") for f in files]


def load(corpus: synthetic.Corpus, folder: Path, name: str) -> tuple[Store, dict[str, str]]:
    store = Store.open(f"sqlite:///{folder / (name + '.db')}")
    docs = [
        Document(text=r["text"], title=r["title"], outlet=r["outlet"], url=r["url"], published=r["published"])
        for r in corpus.records
    ]
    for start in range(0, len(docs), 2000):
        store.save_documents(docs[start : start + 2000])
    return store, {str(d.url): d.id for d in docs}


def _found(plant: synthetic.Plant, ids: list[str], campaigns: list[Campaign]) -> Campaign | None:
    """The reported campaign holding most of the plant's documents, if it is a find."""
    wanted = set(ids)
    best = max(campaigns, key=lambda c: len(wanted & {d.id for d in c.documents}), default=None)
    if best is None:
        return None
    outlets = {d.outlet for d in best.documents if d.id in wanted}
    if len(outlets) >= OUTLET_SHARE * len(set(plant.outlets)) and best.outlets[0] == plant.first_outlet:
        return best
    return None


def _span_iou(plant: synthetic.Plant, ids: list[str], campaign: Campaign) -> list[float]:
    spans = {m.doc.id: (m.start, m.end) for m in campaign.members}
    scores = []
    for doc_id, (start, end) in zip(ids, plant.spans, strict=True):
        if doc_id in spans:
            s, e = spans[doc_id]
            scores.append(max(0, min(e, end) - max(s, start)) / (max(e, end) - min(s, start)))
    return scores


def campaign_quality(
    corpus: synthetic.Corpus, urls: dict[str, str], campaigns: list[Campaign], groups: list[ReuseGroup]
) -> dict[str, Any]:
    by_kind: dict[str, dict[str, Any]] = defaultdict(lambda: {"planted": 0, "found": 0, "spans_iou": []})
    owner: dict[str, synthetic.Plant] = {}
    for plant in corpus.plants:
        ids = [urls[u] for u in plant.documents]
        owner.update(dict.fromkeys(ids, plant))
        if plant.kind not in (*synthetic.CAMPAIGN_KINDS, "identical"):
            continue
        figures = by_kind[plant.kind]
        figures["planted"] += 1
        found = _found(plant, ids, campaigns)
        if found is not None:
            figures["found"] += 1
            figures["spans_iou"] += _span_iou(plant, ids, found)
    correct = 0
    decoys: dict[str, int] = defaultdict(int)
    for campaign in campaigns:
        kinds = [owner[d.id].kind if d.id in owner else "organic" for d in campaign.documents]
        top = max(set(kinds), key=kinds.count)
        if top in (*synthetic.CAMPAIGN_KINDS, "identical") and kinds.count(top) > len(kinds) / 2:
            correct += 1
        else:
            decoys[top] += 1
    return {
        "per_kind": {kind: _rates(f) for kind, f in sorted(by_kind.items())},
        "reported_campaigns": len(campaigns),
        "correct_campaigns": correct,
        "precision": round(correct / len(campaigns), 4) if campaigns else None,
        "unplanted_campaigns_by_majority_kind": dict(decoys),
        "paraphrase_groups": _decoy_groups(corpus, urls, groups, "paraphrase"),
        "boilerplate_groups": sum(
            all(any(m.text in p.passage for p in corpus.of_kind("boilerplate")) for m in g.members)
            for g in groups
        ),
    }


def _is_boilerplate(corpus: synthetic.Corpus, group: ReuseGroup) -> bool:
    footers = [p.passage for p in corpus.of_kind("boilerplate")]
    return all(any(m.text in footer for footer in footers) for m in group.members)


def _rates(figures: dict[str, Any]) -> dict[str, Any]:
    ious = figures.pop("spans_iou")
    return {
        **figures,
        "recall": round(figures["found"] / figures["planted"], 4) if figures["planted"] else None,
        "member_span_iou_mean": round(sum(ious) / len(ious), 4) if ious else None,
        "member_spans_iou_over_0.8": round(sum(i >= 0.8 for i in ious) / len(ious), 4) if ious else None,
    }


def _decoy_groups(corpus: synthetic.Corpus, urls: dict[str, str], groups: list[ReuseGroup], kind: str) -> int:
    """Groups in which two or more members' spans are copies of one decoy of this kind (text the
    decoy's host articles share for other reasons, e.g. two PTC articles on one story, is not)."""
    count = 0
    for plant in corpus.of_kind(kind):
        planted = {urls[u]: span for u, span in zip(plant.documents, plant.spans, strict=True)}
        for group in groups:
            inside = [m for m in group.members if m.doc.id in planted and _overlaps(m, planted[m.doc.id])]
            count += len({m.doc.id for m in inside}) > 1
    return count


def _overlaps(member: Member, span: tuple[int, int]) -> bool:
    return min(member.end, span[1]) > max(member.start, span[0])


def reuse_quality(corpus: synthetic.Corpus, urls: dict[str, str], groups: list[ReuseGroup]) -> dict[str, Any]:
    """Per kind of shared text (campaigns, quotes weeks apart, syndication): found as one group?"""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for plant in corpus.plants:
        if plant.kind in ("paraphrase", "boilerplate"):
            continue
        ids = {urls[u] for u in plant.documents}
        hit = any(len(ids & {d.id for d in g.documents}) >= OUTLET_SHARE * len(ids) for g in groups)
        out[plant.kind][0] += 1
        out[plant.kind][1] += hit
    return {
        kind: {"planted": n, "found_as_one_group": k, "recall": round(k / n, 4)}
        for kind, (n, k) in out.items()
    }


def run(name: str, corpus: synthetic.Corpus, folder: Path) -> dict[str, Any]:
    store, urls = load(corpus, folder, name)
    with store:
        started = time.perf_counter()
        report = find_reuse(store)
        seconds = time.perf_counter() - started
        coordination = coordinate(report.groups, 3, timedelta(hours=72))
    result = {
        "documents": len(corpus.records),
        "find_reuse_seconds": round(seconds, 2),
        "index": report.to_json()["index"],
        "campaigns": campaign_quality(corpus, urls, coordination.campaigns, report.groups),
        "reuse_groups": reuse_quality(corpus, urls, report.groups),
        "boilerplate_outlets_recognised": len(report.boilerplate),
    }
    print(f"[{name}] {json.dumps(result['campaigns'])}", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", choices=["synthetic", "ptc", "both"], default="both")
    parser.add_argument("--docs", type=int, default=2000, help="documents of the synthetic corpus")
    parser.add_argument("--campaigns", type=int, default=60)
    parser.add_argument("--outlets", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "command": "python benchmarks/reuse_planted.py " + " ".join(sys.argv[1:]),
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="propscope-planted-") as tmp:
        for seed in args.seeds:
            if args.source in ("synthetic", "both"):
                corpus = synthetic.generate(args.docs, args.outlets, args.campaigns, seed=seed, identical=3)
                results["runs"][f"synthetic-{seed}"] = run(f"synthetic-{seed}", corpus, Path(tmp))
            if args.source in ("ptc", "both"):
                texts = ptc_texts()  # 536 articles: hosts, passages and organic text, each used once
                corpus = synthetic.generate(len(texts) - 40, 15, 24, seed=seed, texts=texts)
                results["runs"][f"ptc-{seed}"] = run(f"ptc-{seed}", corpus, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
