"""A synthetic news corpus with planted copy-paste campaigns and known ground truth.

For tests and `benchmarks/corpus.py`: every word is generated here from small invented word lists
(no real article text). Planted on top of organic articles:
- campaigns: one passage copied, with light edits, by several outlets within a few hours;
- slow reuse: a passage copied by several outlets over weeks (reuse, but not coordinated);
- syndication: a passage shared by two outlets (reuse, below the campaign minimum);
- paraphrase decoys: one story retold in fresh words by several outlets within an hour (not reuse);
- outlet footers: the same boilerplate paragraph under every article of an outlet;
- identical copies (only when asked for): one whole article republished byte for byte by several
  outlets within a few hours, so all copies are one document id and only the store's sightings
  tell the outlets apart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

_NAMES = (
    "Orlen",
    "Vasquez",
    "Tamberg",
    "Kiro",
    "Hallan",
    "Meduro",
    "Pirsk",
    "Ostrava",
    "Lunde",
    "Zarek",
    "Fennick",
    "Qadir",
    "Bellamy",
    "Ruslan",
    "Ingram",
    "Teodor",
    "Maelis",
    "Corvin",
)
_BODIES = (
    "the ministry",
    "the council",
    "the northern alliance",
    "a trade bloc",
    "the coalition",
    "the central bank",
    "an energy consortium",
    "the port authority",
    "the assembly",
    "a regional governor",
    "the defence office",
    "a monitoring mission",
    "the senate",
)
_PLACES = (
    "Valdoria",
    "Kestrel Bay",
    "Morrow",
    "the eastern provinces",
    "Trelany",
    "Ashgrove",
    "Port Elling",
    "the river delta",
    "Sarnik",
    "Halvard",
    "the border region",
    "Lomasz",
)
_VERBS = (
    "accused",
    "warned",
    "praised",
    "blamed",
    "thanked",
    "questioned",
    "criticised",
    "defended",
    "challenged",
    "welcomed",
    "condemned",
    "supported",
    "ignored",
    "mocked",
)
_THINGS = (
    "grain exports",
    "pipeline tariffs",
    "election observers",
    "a water treaty",
    "foreign advisers",
    "the fishing quota",
    "rail contracts",
    "a vaccine shipment",
    "border patrols",
    "bond auctions",
    "the new curfew",
    "cyber attacks",
    "fuel subsidies",
    "port inspections",
    "a mining licence",
    "student protests",
    "troop rotations",
)
_ADVERBS = ("sharply", "quietly", "openly", "repeatedly", "cautiously", "bluntly", "suddenly")
_TIMES = (
    "on Monday",
    "late on Tuesday",
    "this week",
    "after midnight",
    "on Friday morning",
    "during a press call",
    "at the summit",
    "in a late statement",
    "before the vote",
)
_LINKS = ("while", "because", "after", "although", "even as", "just as", "since")
_TEMPLATES = (
    "{name} of {body} {adverb} {verb} {body2} over {thing} {time}, {link} {place} {verb2} {thing2}.",
    "In {place}, {body} {verb} {name} {time} {link} {thing} {adverb} stalled near {place2}.",
    "{name} {adverb} told reporters {time} that {body} {verb} {thing} {link} {body2} {verb2} {place}.",
    "Officials in {place} {verb} {thing} {time}; {name} said {body} {adverb} {verb2} {thing2}.",
    "{body} {verb} {place} over {thing}, {link} {name} {adverb} {verb2} {body2} {time}.",
)
_EDITS = ("reportedly", "allegedly", "officially", "now", "again", "also", "still")


@dataclass
class Plant:
    """One planted shared passage and who published it."""

    kind: str  # campaign | slow | syndication | decoy | footer | identical
    passage: str  # empty for decoys: each outlet tells `story` in its own words
    documents: list[str] = field(default_factory=list)  # record urls, first publisher first
    outlets: list[str] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    story: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Corpus:
    """Records in the JSONL field mapping (`text`, `title`, `outlet`, `url`, `published`)."""

    records: list[dict[str, Any]]
    plants: list[Plant]

    def of_kind(self, *kinds: str) -> list[Plant]:
        return [p for p in self.plants if p.kind in kinds]


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def sentence(self, slots: dict[str, str] | None = None, template: int | None = None) -> str:
        chosen = _TEMPLATES[template % len(_TEMPLATES)] if template is not None else None
        text = (chosen or self.rng.choice(_TEMPLATES)).format(**(slots or self.slots()))
        return text[0].upper() + text[1:]

    def slots(self) -> dict[str, str]:
        """One sentence's facts; retelling them with other templates makes a paraphrase."""
        r = self.rng
        return {
            "name": r.choice(_NAMES),
            "body": r.choice(_BODIES),
            "body2": r.choice(_BODIES),
            "place": r.choice(_PLACES),
            "place2": r.choice(_PLACES),
            "verb": r.choice(_VERBS),
            "verb2": r.choice(_VERBS),
            "thing": r.choice(_THINGS),
            "thing2": r.choice(_THINGS),
            "adverb": r.choice(_ADVERBS),
            "time": r.choice(_TIMES),
            "link": r.choice(_LINKS),
        }

    def paragraph(self, sentences: int = 3) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    def edit(self, text: str, rate: float) -> str:
        """A lightly edited copy: a word here and there inserted, as re-posters do."""
        words = text.split(" ")
        out: list[str] = []
        for word in words:
            if self.rng.random() < rate:
                out.append(self.rng.choice(_EDITS))
            out.append(word)
        return " ".join(out)


@dataclass
class _Options:
    documents: int
    outlets: int
    campaigns: int
    seed: int
    start: datetime = datetime(2024, 1, 1)
    days: int = 180
    edit_rate: float = 0.03


def generate(
    documents: int = 1000, outlets: int = 20, campaigns: int = 10, seed: int = 7, identical: int = 0
) -> Corpus:
    """A corpus of about `documents` articles with `campaigns` planted campaigns (and decoys).

    Args:
        documents: total articles (planted ones included).
        outlets: distinct outlets, `outlet-NN.example`.
        campaigns: planted coordinated campaigns; slow reuse, syndication pairs and paraphrase
            decoys are planted in proportion (half as many each).
        seed: the same seed gives the same corpus.
        identical: campaigns of byte-identical copies to plant as well (3-6 outlets within six
            hours each); 0 leaves the corpus of a seed exactly as it was before they existed.
    """
    options = _Options(documents, outlets, campaigns, seed)
    rng = random.Random(seed)
    writer = _Writer(rng)
    names = [f"outlet-{i:02d}.example" for i in range(outlets)]
    footers = {name: f"{name} {writer.paragraph(2)} Subscribe to {name} for more." for name in names}
    plants = _plan(writer, names, options)
    records: list[dict[str, Any]] = []
    for plant in plants:
        for copy, (outlet, when) in enumerate(zip(plant.outlets, plant.times, strict=True)):
            if plant.kind == "decoy":  # each copy retells each sentence with another template
                body = " ".join(writer.sentence(slots, copy + i) for i, slots in enumerate(plant.story))
            else:
                body = writer.edit(plant.passage, options.edit_rate)
            records.append(_article(writer, outlet, when, footers[outlet], inserted=body))
            plant.documents.append(records[-1]["url"])
    copied = [_identical(writer, names, footers, options) for _ in range(identical)]
    for plant, copies in copied:
        plants.append(plant)
        records.extend(copies)
    while len(records) < documents:
        outlet = rng.choice(names)
        when = options.start + timedelta(seconds=rng.uniform(0, options.days * 86400))
        records.append(_article(writer, outlet, when, footers[outlet]))
    rng.shuffle(records)
    return Corpus(records, plants + [Plant("footer", text, [], [o]) for o, text in footers.items()])


def _plan(writer: _Writer, names: list[str], options: _Options) -> list[Plant]:
    rng, plants = writer.rng, []
    kinds = ["campaign"] * options.campaigns + ["slow", "syndication", "decoy"] * max(
        options.campaigns // 2, 1
    )
    for kind in kinds:
        count = {"campaign": rng.randint(3, 8), "slow": rng.randint(3, 5), "syndication": 2}.get(kind, 4)
        outlets = rng.sample(names, min(count, len(names)))
        count = len(outlets)
        spread = {"campaign": 6 * 3600, "slow": 30 * 86400, "syndication": 3 * 86400}.get(kind, 3600)
        start = options.start + timedelta(seconds=rng.uniform(0, (options.days - 35) * 86400))
        offsets = sorted(rng.uniform(0, spread) for _ in range(count))
        if kind == "slow":  # spaced out: no three copies fall within a few days of each other
            offsets = [i * spread / (count - 1) + rng.uniform(0, 3600) for i in range(count)]
        times = [start + timedelta(seconds=o) for o in offsets]
        story = [writer.slots() for _ in range(rng.randint(3, 5))]
        passage = "" if kind == "decoy" else " ".join(writer.sentence(slots) for slots in story)
        plants.append(Plant(kind, passage, [], outlets, times, story))
    return plants


def _identical(
    writer: _Writer, names: list[str], footers: dict[str, str], options: _Options
) -> tuple[Plant, list[dict[str, Any]]]:
    """One article, footer and all, republished unchanged by 3-6 outlets within six hours."""
    rng = writer.rng
    outlets = rng.sample(names, min(rng.randint(3, 6), len(names)))
    start = options.start + timedelta(seconds=rng.uniform(0, (options.days - 35) * 86400))
    times = [start + timedelta(seconds=o) for o in sorted(rng.uniform(0, 6 * 3600) for _ in outlets)]
    original = _article(writer, outlets[0], times[0], footers[outlets[0]])
    copies = [original] + [
        original | {"outlet": o, "url": f"https://{o}/news/{rng.getrandbits(48):012x}"} | _stamp(when)
        for o, when in zip(outlets[1:], times[1:], strict=True)
    ]
    plant = Plant("identical", original["text"], [c["url"] for c in copies], outlets, times)
    return plant, copies


def _stamp(when: datetime) -> dict[str, str]:
    return {"published": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _article(writer: _Writer, outlet: str, when: datetime, footer: str, inserted: str = "") -> dict[str, Any]:
    rng = writer.rng
    paragraphs = [writer.paragraph(rng.randint(2, 4)) for _ in range(rng.randint(3, 6))]
    if inserted:
        paragraphs.insert(rng.randint(0, len(paragraphs)), inserted)
    number = rng.getrandbits(48)
    return {
        "title": writer.sentence()[:70],
        "text": "\n\n".join([*paragraphs, footer]),
        "outlet": outlet,
        "url": f"https://{outlet}/news/{number:012x}",
        **_stamp(when),
    }
