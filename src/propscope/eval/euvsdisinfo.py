"""EUvsDisinfo cases as a narrative benchmark: reading, de-duplication, the fixed split and gold.

The 2015-2017 scrape (../shared/data/euvsdisinfo, see its SOURCE.md) holds 3,069 cases with a
claim summary, but only 2,621 distinct summaries: 448 rows repeat a case (most are identical
rows). Cases are therefore keyed by their normalised summary and repeats merged (keywords
united), so one claim is never on both sides of the split.

The split is by case and fixed once: SHA-256 of the case key, first 8 hex digits as an integer,
modulo 10; 0-2 is the held-out part (about 30 %), reported on once; 3-9 is the training part,
the only part the matcher is fitted, calibrated and thresholded on. It needs no seed and does
not move when rows are added or reordered.

Gold narratives come from the case keywords through KEYWORD_TO_NARRATIVES (our judgement;
broad keywords such as NATO or Coup map to several). A case none of whose keywords is mapped has
no catalogue narrative: the matcher should abstain on it.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from propscope.errors import IngestError

CASES_FILE = "euvsdisinfo_cases_2015-2017_full.csv"
HELD_OUT_BUCKETS = frozenset({0, 1, 2})  # of 10: about 30 % held out
PARTS = ("train", "held-out", "all")

KEYWORD_TO_NARRATIVES: dict[str, tuple[str, ...]] = {
    "Colour revolutions": ("colour-revolution",),
    "Coup": ("colour-revolution", "maidan-coup"),
    "Euromaidan": ("maidan-coup",),
    "Nazi/Fascist": ("ukraine-terror-base", "baltic-nazism"),
    "NATO": ("nato-encirclement", "nato-aggressive-bloc"),
    "EU/NATO enlargement": ("nato-encirclement",),
    "US presence in Europe": ("nato-encirclement", "nato-aggressive-bloc"),
    "Missile defence system": ("nato-encirclement",),
    "Sanctions": ("sanctions-hurt-europe",),
    "Manipulated elections/referendum": ("rigged-elections-west",),
    "EU disintegration": ("eu-collapse",),
    "Brexit": ("eu-collapse",),
    "Russophobia": ("west-russophobia",),
    "Anti-Russian": ("west-russophobia",),
    "LGBT": ("gay-europe-decadence",),
    "Perversion": ("gay-europe-decadence",),
    "European values": ("gay-europe-decadence",),
    "Migration crisis": ("migrants-destroy-europe",),
    "Refugees": ("migrants-destroy-europe",),
    "Islamisation": ("migrants-destroy-europe",),
    "Cologne assaults": ("migrants-destroy-europe",),
    "Lisa case": ("migrants-destroy-europe",),
    "MH17": ("mh17-not-russia",),
    "Chemical weapons/attack": ("chemical-attacks-staged",),
    "White Helmets": ("chemical-attacks-staged",),
    "Crimea": ("crimea-legal",),
    "Donbas": ("donbas-civil-war",),
    "Civil war": ("donbas-civil-war",),
    "Ukrainian statehood": ("ukraine-failed-state",),
    "Ukrainian disintegration": ("ukraine-failed-state",),
    "Puppets": ("west-puppet-governments",),
    "Sovereignty": ("west-puppet-governments",),
    "George Soros": ("west-puppet-governments", "western-ngos-subversion"),
    "NGO": ("western-ngos-subversion",),
    "Baltic states": ("baltic-nazism",),
    "Historical revisionism": ("ww2-revisionism",),
    "WWII": ("ww2-revisionism",),
    "Russo-Georgian War": ("georgia-war-started-by-west",),
    "Media": ("western-media-lies",),
    "BBC": ("western-media-lies",),
    "Censorship": ("western-media-lies",),
    "Energy": ("energy-blackmail-west",),
}


@dataclass(frozen=True, slots=True)
class Case:
    """One distinct EUvsDisinfo claim: its summary, keywords (united over repeats), gold ids."""

    key: str
    summary: str
    keywords: tuple[str, ...]
    gold: frozenset[str]

    @property
    def part(self) -> str:
        """`held-out` or `train`, from the hash of the case key."""
        bucket = int(hashlib.sha256(self.key.encode("utf-8")).hexdigest()[:8], 16) % 10
        return "held-out" if bucket in HELD_OUT_BUCKETS else "train"


def case_key(summary: str) -> str:
    """The summary lower-cased with whitespace collapsed: repeats of a case share it."""
    return " ".join(summary.lower().split())


def gold_for(keywords: Iterable[str]) -> frozenset[str]:
    """Catalogue ids the keywords signal (empty: no catalogue narrative)."""
    return frozenset(n for k in keywords for n in KEYWORD_TO_NARRATIVES.get(k.strip(), ()))


def cases_path(data: Path) -> Path:
    """The cases CSV inside `data` (a euvsdisinfo folder, or the file itself)."""
    return data if data.is_file() else data / CASES_FILE


def read_cases(data: Path) -> list[Case]:
    """Distinct cases with a summary, in file order of their first row."""
    path = cases_path(data)
    if not path.is_file():
        raise IngestError(IngestError.E_NOT_FOUND.format(source=path), str(path))
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"summary", "keywords"} <= set(reader.fieldnames):
            reason = "expected the columns summary and keywords"
            raise IngestError(
                IngestError.E_MALFORMED.format(source=path, kind="CSV", reason=reason), str(path)
            )
        rows = [
            (r["summary"].strip(), r.get("keywords") or "") for r in reader if (r["summary"] or "").strip()
        ]
    return merge_repeats(rows)


def merge_repeats(rows: Sequence[tuple[str, str]]) -> list[Case]:
    """One Case per distinct summary; keywords of its repeats united, in first-seen order."""
    summaries: dict[str, str] = {}
    keywords: dict[str, dict[str, None]] = {}
    for summary, words in rows:
        key = case_key(summary)
        summaries.setdefault(key, summary)
        found = keywords.setdefault(key, {})
        found.update((k.strip(), None) for k in words.split(",") if k.strip())
    return [Case(k, summaries[k], tuple(keywords[k]), gold_for(keywords[k])) for k in summaries]


def part_of(cases: Sequence[Case], part: str) -> list[Case]:
    """The cases of one part (`train`, `held-out` or `all`)."""
    return list(cases) if part == "all" else [c for c in cases if c.part == part]
