"""JSONL and CSV corpora: one document per record, columns mapped by a FieldMap.

A malformed record becomes an IngestFailure named `file:line`, and the other records still load.
Record text is already clean, so it only gets whitespace normalisation (no boilerplate or
byline heuristics); columns the FieldMap does not name are kept in `Document.meta`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest._common import IngestFailure, Items, build_document, fail
from propscope.ingest._decode import binary_reason, bom_encoding
from propscope.ingest.text import tidy

HEAD_BYTES = 8192
_SCALARS = (str, int, float, bool)


def _text_of(record: Mapping[str, Any], source: str, options: IngestOptions) -> str:
    name = options.fields.text
    if name not in record:
        found = ", ".join(map(str, list(record)[:12])) or "no fields"
        raise fail(IngestError.E_FIELD, source, field=name, found=found)
    value = record[name]
    if not isinstance(value, str):
        reason = f"field {name!r} is {type(value).__name__}, not a string"
        raise fail(IngestError.E_MALFORMED, source, kind="record", reason=reason)
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > options.max_bytes:
        raise fail(IngestError.E_TOO_LARGE, source, size=size, limit=options.max_bytes)
    if not (text := tidy(value)):
        raise fail(IngestError.E_NO_TEXT, source, reason=f"field {name!r} is empty")
    return text


def _field(record: Mapping[str, Any], name: str | None) -> str | None:
    value = record.get(name) if name else None
    return str(value).strip() or None if isinstance(value, _SCALARS) else None


def record_document(record: Mapping[str, Any], source: str, options: IngestOptions) -> Document:
    """The Document for one JSONL object or CSV row, mapped by `options.fields`.

    Args:
        record: field name to value.
        source: "file:line", used in `Document.source` and errors.
        options: the FieldMap and --max-bytes (applied to the text field).

    Returns:
        The Document; raises IngestError (E013, E015, E016, E017) for a bad record.
    """
    fields = options.fields
    named = {fields.text, fields.title, fields.author, fields.outlet, fields.url, fields.published}
    named.add(fields.id or fields.text)
    meta = {k: v for k, v in record.items() if k not in named and isinstance(v, _SCALARS)}
    if fields.id and (record_id := _field(record, fields.id)):
        meta["record_id"] = record_id
    return build_document(
        _text_of(record, source, options),
        source=source,
        title=_field(record, fields.title),
        author=_field(record, fields.author),
        outlet=_field(record, fields.outlet),
        url=_field(record, fields.url),
        published=_field(record, fields.published),
        meta=meta,
    )


def _check_head(stream: BinaryIO, source: str) -> bytes:
    """The first bytes, refusing empty and binary files before any record is tried."""
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    if not head.strip():
        raise fail(IngestError.E_EMPTY, source)
    if reason := binary_reason(head):
        raise fail(IngestError.E_BINARY, source, reason=reason)
    return head


Parsed = Iterator[tuple[str, Mapping[str, Any] | IngestError]]


def _guarded(parsed: Parsed, options: IngestOptions) -> Items:
    """Documents for parsed records, and failures for records that were or become errors."""
    for where, record in parsed:
        if isinstance(record, IngestError):
            yield IngestFailure.of(record, where)
            continue
        try:
            yield record_document(record, where, options)
        except IngestError as exc:
            yield IngestFailure.of(exc, where)


def _json_record(raw: bytes, where: str, encoding: str) -> Mapping[str, Any] | IngestError:
    try:
        value = json.loads(raw.decode(encoding).lstrip("\ufeff"))
    except UnicodeDecodeError as exc:
        return fail(IngestError.E_ENCODING, where, reason=str(exc))
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} at column {exc.colno}"
        return fail(IngestError.E_MALFORMED, where, kind="JSON line", reason=reason)
    if not isinstance(value, dict):
        reason = f"a JSON {type(value).__name__} where an object was expected"
        return fail(IngestError.E_MALFORMED, where, kind="JSON line", reason=reason)
    return value


def _json_lines(stream: BinaryIO, source: str, encoding: str) -> Parsed:
    for number, raw in enumerate(stream, 1):
        if raw.strip():
            where = f"{source}:{number}"
            yield where, _json_record(raw, where, encoding)


def read_jsonl(stream: BinaryIO, source: str, options: IngestOptions) -> Items:
    """Reader for .jsonl: one document per JSON object line; blank lines are skipped."""
    _check_head(stream, source)
    yield from _guarded(_json_lines(stream, source, options.encoding or "utf-8"), options)


def _table_encoding(head: bytes, options: IngestOptions) -> str:
    """--encoding, else the BOM's, else UTF-8 when the head decodes, else charset-normalizer's."""
    if declared := options.encoding or bom_encoding(head):
        return declared
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(head).best()
        return best.encoding if best is not None else "utf-8"


def _row(row: dict[str | Any, Any], where: str, width: int) -> Mapping[str, Any] | IngestError:
    """The row, unless it has more or fewer cells than the header."""
    cells = width + len(row.get(None) or ()) - sum(v is None for v in row.values())
    if cells != width:
        reason = f"{cells} cells where the header has {width}"
        return fail(IngestError.E_MALFORMED, where, kind="CSV row", reason=reason)
    return row


def _csv_header(reader: csv.DictReader[str], source: str, options: IngestOptions) -> int:
    try:
        header = reader.fieldnames
    except (csv.Error, UnicodeDecodeError) as exc:
        raise fail(IngestError.E_MALFORMED, source, kind="CSV header", reason=str(exc)) from exc
    if not header:
        raise fail(IngestError.E_EMPTY, source)
    if options.fields.text not in header:
        found = ", ".join(header[:12])
        raise fail(IngestError.E_FIELD, source, field=options.fields.text, found=found)
    return len(header)


def _csv_rows(text: io.TextIOWrapper, source: str, options: IngestOptions) -> Parsed:
    reader = csv.DictReader(text)
    width = _csv_header(reader, source, options)
    while True:
        where = f"{source}:{reader.line_num + 1}"
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield where, fail(IngestError.E_MALFORMED, where, kind="CSV row", reason=str(exc))
            continue
        except UnicodeDecodeError as exc:
            raise fail(IngestError.E_ENCODING, where, reason=str(exc)) from exc
        yield where, _row(row, where, width)


def read_csv(stream: BinaryIO, source: str, options: IngestOptions) -> Items:
    """Reader for .csv: a header row, then one document per row."""
    encoding = _table_encoding(_check_head(stream, source), options)
    # Articles are longer than csv's default 128 KiB field limit.
    csv.field_size_limit(max(csv.field_size_limit(), options.max_bytes * 4))
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield from _guarded(_csv_rows(text, source, options), options)
    finally:
        text.detach()  # the caller owns the stream; do not let the wrapper close it
