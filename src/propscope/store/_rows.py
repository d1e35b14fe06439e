"""Converting between the document model and table rows: dates, documents, analyses, spans,
human layers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Row

from propscope.annotation.records import ReviewedDocument, ReviewedSpan
from propscope.document import LAYERS, Annotations, Document, Result
from propscope.errors import StoreError

JSON = dict[str, Any]


def utcnow() -> datetime:
    """Now, as the naive UTC value every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def parse_moment(value: str | None) -> datetime | None:
    """An ISO 8601 date or time as naive UTC (no zone means UTC); None when it is not one."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def query_moment(value: datetime | date | str) -> datetime:
    """A `since`/`until` bound as naive UTC (StoreError E305 for a string that is not ISO 8601)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    moment = parse_moment(value)
    if moment is None:
        raise StoreError(StoreError.E_DATE.format(value=value))
    return moment


def document_row(doc: Document, now: datetime) -> JSON:
    check_json(doc.id, "meta", dict(doc.meta))
    return {
        "id": doc.id,
        "text": doc.text,
        "title": doc.title,
        "author": doc.author,
        "outlet": doc.outlet,
        "url": doc.url,
        "published": doc.published,
        "published_at": parse_moment(doc.published),
        "language": doc.language,
        "source": doc.source,
        "meta": dict(doc.meta),
        "created_at": now,
        "updated_at": now,
    }


def origin_hash(outlet: str | None, url: str | None, published: str | None) -> str:
    """What makes two sightings of a document the same: SHA-256 of (outlet, url, published).

    Migration 0005 backfills with a frozen copy of this function: changing it would make every
    later ingest of an already stored document look like a new sighting.
    """
    key = json.dumps([outlet, url, published], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def sighting_row(doc: Document, now: datetime) -> JSON:
    """The `sightings` row saying where and when `doc` (as ingested) was published."""
    return {
        "document_id": doc.id,
        "outlet": doc.outlet,
        "url": doc.url,
        "published": doc.published,
        "published_at": parse_moment(doc.published),
        "source": doc.source,
        "origin_hash": origin_hash(doc.outlet, doc.url, doc.published),
        "seen_at": now,
    }


def check_json(doc_id: str, what: str, value: Any) -> None:
    """Refuse values the JSON columns cannot hold before the transaction, not halfway through it
    (the drivers fail differently: SQLAlchemy wraps the error on SQLite, psycopg does not).
    NaN and Infinity are refused too: json.dumps would write them, as JSON no reader accepts."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(StoreError.E_JSON.format(id=doc_id, what=what, reason=exc)) from exc


def document_from_row(row: Row[Any]) -> Document:
    """The stored document as saved: `Document.stored`, so rows older than its checks still read."""
    return Document.stored(
        text=row.text,
        id=row.id,
        title=row.title,
        author=row.author,
        outlet=row.outlet,
        url=row.url,
        published=row.published,
        language=row.language,
        source=row.source,
        meta=dict(row.meta or {}),
    )


def layer_owners(
    analyzers: Sequence[str], produced: Mapping[str, Sequence[str]] | None
) -> dict[str, tuple[str, ...]]:
    """Which layers each analyser's row stores; every layer goes to exactly one analyser.

    A `Result` holds the merged layers of all its analysers, so the store can only split them by
    layer: an analyser owns the layers `produced` names for it (by default the layer sharing its
    name, "techniques.v1" -> "techniques"). A layer claimed by several analysers goes to the last
    of them; an unclaimed layer to the last analyser, so nothing is silently dropped.
    """
    owner: dict[str, str] = {}
    for name in analyzers:
        for layer in _claims(name, produced):
            owner[layer] = name
    for layer in LAYERS:
        owner.setdefault(layer, analyzers[-1])
    return {name: tuple(lay for lay in LAYERS if owner[lay] == name) for name in analyzers}


def _claims(name: str, produced: Mapping[str, Sequence[str]] | None) -> Sequence[str]:
    if produced is not None and name in produced:
        return [layer for layer in produced[name] if layer in LAYERS]
    base = name.split(".", 1)[0]
    return [base] if base in LAYERS else []


def analysis_payloads(result: Result, produced: Mapping[str, Sequence[str]] | None) -> dict[str, JSON]:
    """One payload per analyser of `result`: the JSON of the layers it owns (E307 if none ran)."""
    names = list(result.analyzers)
    layers = result.annotations.to_json()
    if not names:
        if any(layers.values()):
            raise StoreError(StoreError.E_NO_ANALYZER.format(id=result.document.id))
        return {}
    owners = layer_owners(names, produced)
    payloads = {name: {layer: layers[layer] for layer in owners[name]} for name in names}
    check_json(result.document.id, "the annotations", payloads)
    return payloads


def analysis_rows(result: Result, produced: Mapping[str, Sequence[str]] | None, now: datetime) -> list[JSON]:
    """The `analyses` rows for one result: one per analyser name and version."""
    payloads = analysis_payloads(result, produced)
    keys = {"document_id": result.document.id, "created_at": now}
    return [
        keys | {"analyzer": name, "version": result.analyzers[name], "payload": payload}
        for name, payload in payloads.items()
    ]


def span_rows(doc_id: str, analyzer: str, version: str, payload: JSON) -> list[JSON]:
    keys = {"document_id": doc_id, "analyzer": analyzer, "version": version}
    return [
        keys | {"start": s["start"], "end": s["end"], "technique": s["technique"]} | {"score": s["score"]}
        for s in payload.get("techniques", [])
    ]


def merge_analyses(rows: Iterable[Row[Any]]) -> tuple[Annotations, dict[str, str]]:
    """The newest row of each analyser (rows come newest first), merged in the order they ran."""
    latest: dict[str, Row[Any]] = {}
    for row in rows:
        latest.setdefault(row.analyzer, row)
    chosen = sorted(latest.values(), key=lambda row: row.id)
    annotations = Annotations()
    for row in chosen:
        annotations = annotations.merge(Annotations.from_json(row.payload))
    return annotations, {row.analyzer: row.version for row in chosen}


def review_sha256(spans: Iterable[ReviewedSpan]) -> str:
    """What makes two reviews of a document the same: SHA-256 of their checked spans, in order.

    Only the content counts (offsets, layer, label), not the file or tool it came in, so the
    same review imported twice, or re-exported and imported, is stored once.
    """
    key = [[s.start, s.end, s.layer, s.label] for s in sorted(spans)]
    data = json.dumps(key, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def human_layer_row(
    doc_id: str, annotator: str, review: ReviewedDocument, digest: str, now: datetime
) -> JSON:
    return {
        "document_id": doc_id,
        "annotator": annotator,
        "imported_at": now,
        "source_format": review.source_format,
        "source": review.source or None,
        "content_sha256": digest,
        "reviewed_at": reviewed_at(review.meta),
    }


def reviewed_at(meta: Mapping[str, str]) -> datetime | None:
    """The tool's review time (Label Studio's `reviewed_at`, its annotation's updated_at or
    created_at) as naive UTC, or None where the tool records none or an unreadable one."""
    return parse_moment(meta.get("reviewed_at") or meta.get("updated_at"))  # no zone: UTC


def human_span_row(layer_id: int, span: ReviewedSpan) -> JSON:
    return {"layer_id": layer_id, "start": span.start, "end": span.end, "layer": span.layer,
            "label": span.label}
