"""Corpus queries for the list, facet, outlet and narrative views, straight on the store's tables.

The store's own `list` covers outlet, dates, text and technique; the workbench also filters by
narrative and needs facet counts, so it queries the same tables here (read-only).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, Engine, Text, cast, exists, func, or_, select

from propscope.errors import WebError
from propscope.store.schema import analyses, documents, technique_spans

JSON = dict[str, Any]
FACET_LIMIT = 30
SCAN_LIMIT = 20_000  # analyses rows read for narrative views; beyond this use the CLI


@dataclass(frozen=True)
class Filters:
    """What the document list is narrowed to; every field optional."""

    outlet: str | None = None
    since: str | None = None
    until: str | None = None
    technique: str | None = None
    narrative: str | None = None
    q: str | None = None

    def to_json(self) -> JSON:
        return {k: v for k, v in self.__dict__.items() if v}


def _moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        reason = f"{name}={value!r} is not an ISO 8601 date such as 2022-01-05"
        raise WebError(WebError.E_INVALID.format(reason=reason), 422) from exc
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def narrative_marker(narrative_id: str) -> str:
    """How a narrative id appears inside a stored analysis payload (json.dumps defaults)."""
    return f'"id": {json.dumps(narrative_id)}'


def conditions(f: Filters) -> list[ColumnElement[bool]]:
    """SQL conditions for the filters (dates checked: E600 when not ISO 8601)."""
    found: list[ColumnElement[bool]] = []
    if f.outlet:
        found.append(documents.c.outlet == f.outlet)
    if f.since:
        found.append(documents.c.published_at >= _moment(f.since, "since"))
    if f.until:
        found.append(documents.c.published_at <= _moment(f.until, "until"))
    if f.q:
        found.append(or_(documents.c.title.icontains(f.q, autoescape=True),
                         documents.c.text.icontains(f.q, autoescape=True)))
    if f.technique:
        found.append(exists().where(technique_spans.c.document_id == documents.c.id,
                                    technique_spans.c.technique == f.technique))
    if f.narrative:
        payload = cast(analyses.c.payload, Text)
        found.append(exists().where(analyses.c.document_id == documents.c.id,
                                    payload.contains(narrative_marker(f.narrative), autoescape=True)))
    return found


def list_documents(engine: Engine, f: Filters, limit: int, offset: int) -> tuple[list[JSON], int]:
    """One page of document summaries, newest first, and the total matching the filters."""
    where = conditions(f)
    spans = (select(func.count()).where(technique_spans.c.document_id == documents.c.id)
             .correlate(documents).scalar_subquery())
    columns = (documents.c.id, documents.c.title, documents.c.author, documents.c.outlet,
               documents.c.url, documents.c.published, documents.c.language)
    page = (select(*columns, spans.label("techniques")).where(*where)
            .order_by(documents.c.published_at.desc().nulls_last(), documents.c.created_at.desc(),
                      documents.c.id).limit(limit).offset(offset))
    total = select(func.count()).select_from(documents).where(*where)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(page)]
        count = int(conn.execute(total).scalar_one())
    return rows, count


def facets(engine: Engine, f: Filters) -> JSON:
    """Counts of matching documents by outlet and by technique, for the list's side bar."""
    where = conditions(f)
    by_outlet = (select(documents.c.outlet, func.count()).where(*where, documents.c.outlet.is_not(None))
                 .group_by(documents.c.outlet).order_by(func.count().desc()).limit(FACET_LIMIT))
    by_technique = (select(technique_spans.c.technique, func.count(technique_spans.c.document_id.distinct()))
                    .join(documents, documents.c.id == technique_spans.c.document_id).where(*where)
                    .group_by(technique_spans.c.technique).order_by(func.count().desc()))
    with engine.connect() as conn:
        outlets = [{"value": o, "count": int(c)} for o, c in conn.execute(by_outlet)]
        techniques = [{"value": t, "count": int(c)} for t, c in conn.execute(by_technique)]
    return {"outlet": outlets, "technique": techniques}


def outlets(engine: Engine) -> list[JSON]:
    """Every outlet with its article count and first/last publication date."""
    statement = (select(documents.c.outlet, func.count(), func.min(documents.c.published_at),
                        func.max(documents.c.published_at))
                 .where(documents.c.outlet.is_not(None)).group_by(documents.c.outlet)
                 .order_by(func.count().desc(), documents.c.outlet))
    with engine.connect() as conn:
        return [{"outlet": o, "documents": int(n), "first": _iso(a), "last": _iso(b),
                 "links": outlet_links(o)}
                for o, n, a, b in conn.execute(statement)]


def outlet_links(outlet: str) -> dict[str, str]:
    """Where an outlet's profile lives (the name is URL-quoted: outlets are free text)."""
    name = quote(outlet, safe="")
    return {"html": f"/outlets/{name}", "json": f"/outlets/{name}.json"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def technique_mix(engine: Engine, outlet: str) -> list[JSON]:
    """How many spans of each technique an outlet's articles hold."""
    statement = (select(technique_spans.c.technique, func.count())
                 .join(documents, documents.c.id == technique_spans.c.document_id)
                 .where(documents.c.outlet == outlet).group_by(technique_spans.c.technique)
                 .order_by(func.count().desc()))
    with engine.connect() as conn:
        return [{"technique": t, "spans": int(n)} for t, n in conn.execute(statement)]


def monthly(engine: Engine, f: Filters) -> list[JSON]:
    """Documents per publication month (YYYY-MM), oldest first."""
    statement = select(documents.c.published_at).where(*conditions(f),
                                                         documents.c.published_at.is_not(None))
    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        for (moment,) in conn.execute(statement):
            counts[moment.strftime("%Y-%m")] += 1
    return [{"month": m, "documents": counts.get(m, 0)} for m in month_range(counts)]


def month_range(counts: Counter[str]) -> list[str]:
    """Every month from the first to the last counted one, so a timeline shows its gaps."""
    if not counts:
        return []
    first, last = min(counts), max(counts)
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _narrative_rows(engine: Engine) -> Iterator[tuple[str, str | None, datetime | None, JSON]]:
    payload = cast(analyses.c.payload, Text)
    statement = (select(analyses.c.document_id, documents.c.outlet, documents.c.published_at,
                        analyses.c.payload)
                 .join(documents, documents.c.id == analyses.c.document_id)
                 .where(payload.contains('"narratives": [{')).order_by(analyses.c.id.desc())
                 .limit(SCAN_LIMIT))
    with engine.connect() as conn:
        for row in conn.execute(statement):
            yield row[0], row[1], row[2], row[3]


def narrative_index(engine: Engine) -> dict[str, JSON]:
    """Per narrative: title, documents (with score), outlets and months, newest analysis wins."""
    index: dict[str, JSON] = {}
    seen: set[str] = set()
    for doc_id, outlet, published, payload in _narrative_rows(engine):
        if doc_id in seen:
            continue
        seen.add(doc_id)
        for found in payload.get("narratives", []):
            entry = index.setdefault(found["id"], _new_narrative(found))
            entry["documents"].append({"id": doc_id, "score": found.get("score"), "outlet": outlet,
                                       "published": _iso(published)})
            entry["outlets"][outlet or "(unknown)"] += 1
            if published:
                entry["months"][published.strftime("%Y-%m")] += 1
    return index


def _new_narrative(found: JSON) -> JSON:
    return {"id": found["id"], "title": found.get("title") or found["id"], "documents": [],
            "outlets": Counter(), "months": defaultdict(int)}


def narrative_summary(entry: JSON) -> JSON:
    """The JSON form of one narrative_index entry."""
    nid = quote(entry["id"], safe="")
    return {
        "id": entry["id"], "title": entry["title"], "documents": len(entry["documents"]),
        "outlets": [{"outlet": o, "documents": n} for o, n in entry["outlets"].most_common()],
        "months": [{"month": m, "documents": entry["months"].get(m, 0)}
                   for m in month_range(Counter(entry["months"]))],
        "links": {"html": f"/narratives/{nid}", "json": f"/narratives/{nid}.json",
                  "documents": f"/documents?narrative={nid}"},
    }


def blamed_actors(engine: Engine, outlet: str, limit: int = 10) -> list[JSON]:
    """Actors an outlet's articles cast as blamed most often (from the entities layer)."""
    payload = cast(analyses.c.payload, Text)
    statement = (select(analyses.c.payload).join(documents, documents.c.id == analyses.c.document_id)
                 .where(documents.c.outlet == outlet, payload.contains('"entities": [{'))
                 .limit(SCAN_LIMIT))
    blamed: Counter[str] = Counter()
    with engine.connect() as conn:
        for (data,) in conn.execute(statement):
            for entity in data.get("entities", []):
                blamed[entity["actor"]] += int((entity.get("roles") or {}).get("blamed", 0))
    return [{"actor": a, "blamed": n} for a, n in blamed.most_common(limit) if n]
