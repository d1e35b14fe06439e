"""A news corpus with planted text reuse that varies the way real reuse does, and known truth.

For tests and the benchmarks. The organic articles are either generated here (words drawn from an
invented Zipf-distributed vocabulary, so chance overlaps behave like prose, not like templates) or
real articles the caller passes in (`texts=`, e.g. the PTC news articles in ../shared, never
committed). On top of them, campaigns (one passage copied by 4-9 outlets within 36 hours), each
of one kind (`CAMPAIGN_KINDS`):
- inserted: one paragraph put into an unrelated article at a random place and merged into the
  paragraph next to it;
- multi: two or three paragraphs copied together;
- half: later copies take only half of the first publisher's paragraph (the first half in every
  copy, or the second);
- reordered: two neighbouring sentences of the passage swapped in each copy;
- edited: 8-10% of the words edited (every other kind gets 2-4%);
- flat: the receiving article scraped without line breaks.
Every copy is edited on its own: words substituted, dropped or added, case, punctuation and quote
styles changed. Not to be reported as campaigns (`DECOY_KINDS`): paraphrases (one passage retold
by 3-5 outlets within an hour, most words and the clause order changed), a quote from one real
source published by 3-5 outlets weeks apart, and each outlet's boilerplate (a footer and a share
line under every article of the outlet). Plus syndication (two outlets share a passage) and, when
asked for, identical copies (one article republished byte for byte by 3-6 outlets in 6 hours).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

CAMPAIGN_KINDS = ("inserted", "multi", "half", "reordered", "edited", "flat")
DECOY_KINDS = ("paraphrase", "quote", "boilerplate")
_SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vor", "el", "un", "dri", "pa", "sto", "ne", "ul", "gar", "is")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Plant:
    """One planted passage: who published it, when, and where it sits in each text."""

    kind: str
    passage: str  # as the first publisher has it ("" for paraphrases: each retells it)
    documents: list[str] = field(default_factory=list)  # record urls, in `outlets` order
    outlets: list[str] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)  # characters, per document

    @property
    def first_outlet(self) -> str:
        return self.outlets[self.times.index(min(self.times))]


@dataclass
class Corpus:
    """Records in the JSONL field mapping (`text`, `title`, `outlet`, `url`, `published`)."""

    records: list[dict[str, Any]]
    plants: list[Plant]

    def of_kind(self, *kinds: str) -> list[Plant]:
        return [p for p in self.plants if p.kind in kinds]

    def campaigns(self) -> list[Plant]:
        """The plants that are coordinated campaigns (identical copies included)."""
        return self.of_kind(*CAMPAIGN_KINDS, "identical")


class _Writer:
    """Organic text: sentences of Zipf-distributed invented words, or paragraphs of real texts."""

    def __init__(self, rng: random.Random, texts: list[str] | None) -> None:
        self.rng = rng
        self.vocabulary = sorted({self._word() for _ in range(30_000)})
        rng.shuffle(self.vocabulary)
        self.weights = [1.0 / (rank + 10) for rank in range(len(self.vocabulary))]
        self.cumulative = list(_accumulate(self.weights))
        self.texts = [p for p in (_paragraphs(t) for t in texts or []) if len(p) >= 3]
        rng.shuffle(self.texts)
        self.repeated = _repeated(self.texts)

    def _word(self) -> str:
        return "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(1, 4)))

    def words(self, count: int) -> list[str]:
        return self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=count)

    def sentence(self) -> str:
        text = " ".join(self.words(self.rng.randint(8, 24)))
        return text[0].upper() + text[1:] + "."

    def paragraph(self, sentences: int | None = None) -> str:
        return " ".join(self.sentence() for _ in range(sentences or self.rng.randint(2, 5)))

    def article(self) -> list[str]:
        """A fresh article's paragraphs: the next real text, or a generated one when none is left."""
        if self.texts:
            return self.texts.pop()
        return [self.paragraph() for _ in range(self.rng.randint(4, 8))]

    def passage(self, paragraphs: int = 1) -> list[str]:
        """Paragraphs to plant: from a real article (used for nothing else), or generated.

        A real paragraph that shares 8 words in a row with another article (a site's poll widget,
        a story two articles quote) is never planted: its copies would be found with the others.
        """
        if self.texts:
            source = [p for p in self.texts.pop() if len(p.split()) >= 40 and not self._seen_elsewhere(p)]
            if len(source) >= paragraphs:
                start = self.rng.randrange(len(source) - paragraphs + 1)
                return [_trim(p) for p in source[start : start + paragraphs]]
        return [self.paragraph(self.rng.randint(4, 6)) for _ in range(paragraphs)]

    def _seen_elsewhere(self, paragraph: str) -> bool:
        return any(gram in self.repeated for gram in _grams(paragraph))

    def edit(self, text: str, rate: float) -> str:
        """Each word edited with probability `rate`: substituted, dropped, added, or restyled."""
        out: list[str] = []
        for word in text.split(" "):
            if self.rng.random() >= rate:
                out.append(word)
                continue
            operation = self.rng.random()
            if operation < 0.35:
                out.append(self.words(1)[0])
            elif operation < 0.55:
                pass  # dropped
            elif operation < 0.75:
                out.extend([word, self.words(1)[0]])
            elif operation < 0.85:
                out.append(word.upper() if word.islower() else word.lower())
            elif operation < 0.95:
                out.append(word.rstrip(".,;") + ",")
            else:
                out.append(f"“{word}”")
        return " ".join(out)

    def paraphrase(self, text: str) -> str:
        """The same story in other words: clauses turned round, most words replaced."""
        sentences = []
        for sentence in _SENTENCE.split(text):
            parts = sentence.rstrip(".").split(", ")
            self.rng.shuffle(parts)
            words = " ".join(parts).split()
            kept = [w if self.rng.random() < 0.35 else self.words(1)[0] for w in words]
            sentences.append(" ".join(kept) + ".")
        return " ".join(sentences)


def _accumulate(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(total)
    return out


def _paragraphs(text: str) -> list[str]:
    """A real article's lines (one sentence or so each) joined into paragraphs of ~40+ words."""
    paragraphs, current = [], ""
    for line in (raw.strip() for raw in text.splitlines()):
        if line:
            current = f"{current} {line}".strip()
        if current and (not line or len(current.split()) >= 40):
            paragraphs.append(current)
            current = ""
    return [p for p in [*paragraphs, current] if len(p.split()) >= 4]


def _grams(paragraph: str, size: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", paragraph.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def _repeated(texts: list[list[str]]) -> set[tuple[str, ...]]:
    """8-word runs found in more than one article."""
    seen: set[tuple[str, ...]] = set()
    repeated: set[tuple[str, ...]] = set()
    for paragraphs in texts:
        grams = set().union(*(_grams(p) for p in paragraphs))
        repeated |= grams & seen
        seen |= grams
    return repeated


def _trim(paragraph: str, most: int = 90) -> str:
    """At most ~`most` words, cut at a sentence end when there is one."""
    words = paragraph.split()
    if len(words) <= most:
        return paragraph
    cut = " ".join(words[:most])
    end = max(cut.rfind(". "), cut.rfind("? "), cut.rfind("! "))
    return cut[: end + 1] if end > len(cut) // 3 else cut + "."


@dataclass
class _Options:
    documents: int
    outlets: list[str]
    campaigns: int
    start: datetime = datetime(2024, 1, 1)
    days: int = 180


def generate(
    documents: int = 1000,
    outlets: int = 20,
    campaigns: int = 12,
    seed: int = 7,
    identical: int = 0,
    texts: list[str] | None = None,
    days: int = 180,
) -> Corpus:
    """A corpus of about `documents` articles with planted campaigns of every kind, and decoys.

    Args:
        documents: total articles (planted ones included).
        outlets: distinct outlets, `outlet-NN.example`.
        campaigns: planted campaigns, the kinds taken in turn; paraphrase decoys, shared quotes
            and syndicated pairs are planted in proportion (a third as many each, at least one).
        seed: the same seed (and texts) gives the same corpus.
        identical: campaigns of byte-identical copies to plant as well.
        texts: real articles to use as the organic text and as the source of planted passages
            (each used once); generated text fills in when they run out.
        days: the period the organic articles are published over (plants start in all but
            its last 60 days, when it is longer than that).
    """
    rng = random.Random(seed)
    writer = _Writer(rng, texts)
    names = [f"outlet-{i:02d}.example" for i in range(outlets)]
    options = _Options(documents, names, campaigns, days=days)
    footers = {name: f"{writer.paragraph(2)} Read more at {name}." for name in names}
    builder = _Builder(writer, options, footers)
    for number in range(campaigns):
        builder.campaign(CAMPAIGN_KINDS[number % len(CAMPAIGN_KINDS)])
    for _ in range(max(campaigns // 3, 1)):
        builder.paraphrase()
        builder.quote()
        builder.syndication()
    for _ in range(identical):
        builder.identical()
    builder.fill()
    rng.shuffle(builder.records)
    boilerplate = [Plant("boilerplate", text, [], [name]) for name, text in footers.items()]
    return Corpus(builder.records, builder.plants + boilerplate)


class _Builder:
    def __init__(self, writer: _Writer, options: _Options, footers: dict[str, str]) -> None:
        self.writer, self.rng, self.options, self.footers = writer, writer.rng, options, footers
        self.records: list[dict[str, Any]] = []
        self.plants: list[Plant] = []
        self._half = True

    def _times(self, count: int, spread: float, gaps: float = 0.0) -> list[datetime]:
        start = self.options.start + timedelta(
            seconds=self.rng.uniform(0, max(self.options.days - 60, 1) * 86400)
        )
        if gaps:  # spaced: no two within `gaps` seconds
            return [start + timedelta(seconds=i * gaps + self.rng.uniform(0, 3600)) for i in range(count)]
        return [
            start + timedelta(seconds=o) for o in sorted(self.rng.uniform(0, spread) for _ in range(count))
        ]

    def campaign(self, kind: str) -> None:
        """One passage published by 4-9 outlets within 36 hours, copied the way `kind` says."""
        count = self.rng.randint(4, min(9, len(self.options.outlets)))
        outlets = self.rng.sample(self.options.outlets, count)
        paragraphs = self.writer.passage(self.rng.randint(2, 3) if kind == "multi" else 1)
        self._half = self.rng.random() < 0.5  # "half": later copies keep the first half, or the second
        plant = Plant(kind, "\n\n".join(paragraphs), [], outlets, self._times(count, 36 * 3600))
        for outlet, when in zip(outlets, plant.times, strict=True):
            first = when == min(plant.times)
            pieces = [self._copy(kind, p, first) for p in paragraphs]
            self._publish(plant, outlet, when, pieces, merge=kind != "multi", flat=kind == "flat")
            if first:
                plant.passage = self.records[-1]["text"][slice(*plant.spans[-1])]

    def _copy(self, kind: str, paragraph: str, first: bool) -> str:
        rate = self.rng.uniform(0.08, 0.10) if kind == "edited" else self.rng.uniform(0.02, 0.04)
        if kind == "half" and not first:  # the same half in every later copy (`_half`)
            paragraph = _half(paragraph, self._half)
        if kind == "reordered":
            sentences = _SENTENCE.split(paragraph)
            if len(sentences) > 1:
                k = self.rng.randrange(len(sentences) - 1)
                sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
            paragraph = " ".join(sentences)
        return paragraph if first and kind == "half" else self.writer.edit(paragraph, rate)

    def _publish(
        self, plant: Plant, outlet: str, when: datetime, pieces: list[str], merge: bool, flat: bool = False
    ) -> None:
        """An unrelated article of `outlet` with the pieces put in at a random paragraph."""
        body = self.writer.article()
        at = self.rng.randint(0, len(body))
        inserted = "\n\n".join(pieces)
        if merge and body:  # joined to the paragraph before (or after) it: no paragraph break
            at = max(at, 1)
            before = body[at - 1] + " "
            body = [*body[: at - 1], before + inserted, *body[at:]]
            start = len("\n\n".join(body[: at - 1])) + (2 if at > 1 else 0) + len(before)
        else:
            body = [*body[:at], inserted, *body[at:]]
            start = len("\n\n".join(body[:at])) + (2 if at else 0)
        text = "\n\n".join([*body, self.footers[outlet], "Share this article"])
        if flat:  # scraped without line breaks: one space for each run of them, offsets shift
            start = len(re.sub(r"\s*\n\s*", " ", text[:start]))
            text = re.sub(r"\s*\n\s*", " ", text)
            inserted = re.sub(r"\s*\n\s*", " ", inserted)
        plant.spans.append((start, start + len(inserted)))
        self._record(plant, outlet, when, text)

    def _record(self, plant: Plant | None, outlet: str, when: datetime, text: str) -> None:
        url = f"https://{outlet}/news/{self.rng.getrandbits(48):012x}"
        title = " ".join(text.split()[:8])[:70]
        self.records.append({"title": title, "text": text, "outlet": outlet, "url": url, **_stamp(when)})
        if plant is not None:
            if not plant.documents:  # its first copy
                self.plants.append(plant)
            plant.documents.append(url)

    def paraphrase(self) -> None:
        """A decoy: 3-5 outlets tell one story in their own words within an hour."""
        count = self.rng.randint(3, 5)
        outlets = self.rng.sample(self.options.outlets, count)
        story = self.writer.passage()[0]
        plant = Plant("paraphrase", "", [], outlets, self._times(count, 3600))
        for outlet, when in zip(outlets, plant.times, strict=True):
            self._publish(plant, outlet, when, [self.writer.paraphrase(story)], merge=False)

    def quote(self) -> None:
        """A decoy: a quote from one real source that 3-5 outlets print weeks apart."""
        count = self.rng.randint(3, 5)
        outlets = self.rng.sample(self.options.outlets, count)
        quote = "“" + self.writer.passage()[0] + "”"
        plant = Plant("quote", quote, [], outlets, self._times(count, 0, gaps=12 * 86400))
        for outlet, when in zip(outlets, plant.times, strict=True):
            self._publish(plant, outlet, when, [self.writer.edit(quote, 0.02)], merge=False)

    def syndication(self) -> None:
        """Reuse below the campaign minimum: two outlets share a passage within three days."""
        outlets = self.rng.sample(self.options.outlets, 2)
        passage = self.writer.passage()[0]
        plant = Plant("syndication", passage, [], outlets, self._times(2, 3 * 86400))
        for outlet, when in zip(outlets, plant.times, strict=True):
            self._publish(plant, outlet, when, [self.writer.edit(passage, 0.03)], merge=False)

    def identical(self) -> None:
        """One article, footer and all, republished unchanged by 3-6 outlets within six hours."""
        count = self.rng.randint(3, min(6, len(self.options.outlets)))
        outlets = self.rng.sample(self.options.outlets, count)
        plant = Plant("identical", "", [], outlets, self._times(count, 6 * 3600))
        text = "\n\n".join([*self.writer.article(), self.footers[outlets[0]], "Share this article"])
        plant.passage = text
        for outlet, when in zip(outlets, plant.times, strict=True):
            plant.spans.append((0, len(text)))
            self._record(plant, outlet, when, text)

    def fill(self) -> None:
        """Organic articles up to the requested size, each outlet's boilerplate under each."""
        while len(self.records) < self.options.documents:
            outlet = self.rng.choice(self.options.outlets)
            when = self.options.start + timedelta(seconds=self.rng.uniform(0, self.options.days * 86400))
            text = "\n\n".join([*self.writer.article(), self.footers[outlet], "Share this article"])
            self._record(None, outlet, when, text)


def _half(paragraph: str, first: bool) -> str:
    """The first or the second half of a paragraph, cut at the sentence end nearest its middle."""
    words = paragraph.split(" ")
    ends = [i + 1 for i, w in enumerate(words[:-1]) if w.endswith((".", "!", "?"))]
    cut = min(ends, key=lambda i: abs(i - len(words) / 2), default=len(words) // 2)
    if not 0.3 * len(words) <= cut <= 0.7 * len(words):
        cut = len(words) // 2  # no sentence end near the middle: cut mid-sentence
    return " ".join(words[:cut] if first else words[cut:])


def _stamp(when: datetime) -> dict[str, str]:
    return {"published": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
