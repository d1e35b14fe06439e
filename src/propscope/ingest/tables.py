"""JSONL and CSV corpora: one document per record, columns mapped by a FieldMap.

A malformed record becomes an IngestFailure named `file:line`, and the other records still load:
whatever one record holds (a lone surrogate, NaN, a 5,000-digit number, 100,000 nested arrays, an
unclosed CSV quote) costs at most that record. Values no store can hold are mended or left out
with a coded warning (see _records.py). Record text is already clean, so it only gets whitespace
normalisation (no boilerplate or byline heuristics); columns the FieldMap does not name are kept
in `Document.meta`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Iterator, Mapping
from typing import IO, Any, BinaryIO

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest._common import IngestFailure, Items, build_document, fail
from propscope.ingest._decode import binary_reason, bom_encoding
from propscope.ingest._records import describe, loads, storable
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
        reason = f"field {name!r} is {describe(value)}, not a string"
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
        The Document, with warnings (E036, E038, E039) for what had to be mended; raises
        IngestError (E013, E015, E016, E017) for a bad record.
    """
    record, warnings = storable(record, source, options.fields.text)
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
        warnings=warnings,
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
        except Exception as exc:  # a bug on one odd record must not lose the records after it
            yield IngestFailure.of(fail(IngestError.E_UNEXPECTED, where, reason=repr(exc)))


def _json_record(raw: bytes, where: str, encoding: str) -> Mapping[str, Any] | IngestError:
    try:
        value = loads(raw.decode(encoding).lstrip("\ufeff"))
    except UnicodeDecodeError as exc:
        return fail(IngestError.E_ENCODING, where, reason=str(exc))
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg.removesuffix(' at')} at column {exc.colno}"  # msg may end "at"
        return fail(IngestError.E_MALFORMED, where, kind="JSON line", reason=reason)
    except RecursionError:
        reason = f"arrays or objects nested more than about {sys.getrecursionlimit():,} deep"
        return fail(IngestError.E_MALFORMED, where, kind="JSON line", reason=reason)
    except Exception as exc:  # anything else the parser raises is about this line only
        return fail(IngestError.E_UNEXPECTED, where, reason=repr(exc))
    if not isinstance(value, dict):
        reason = f"a JSON {type(value).__name__} where an object was expected"
        return fail(IngestError.E_MALFORMED, where, kind="JSON line", reason=reason)
    return value


# A JSONL line may hold a text of --max-bytes written with \\uXXXX escapes (6 bytes a character)
# and its metadata; a longer line is refused without ever being held whole.
LINE_ESCAPE_FACTOR = 6
LINE_SLACK_BYTES = 1 << 20


def _bounded_lines(stream: BinaryIO, cap: int) -> Iterator[bytes | None]:
    """The stream's lines; None for a line over `cap` bytes, which is skipped in 1 MiB reads."""
    while line := stream.readline(cap + 1):
        if len(line) <= cap or line.endswith(b"\n"):
            yield line
            continue
        while (rest := stream.readline(LINE_SLACK_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield None


def _json_lines(stream: BinaryIO, source: str, options: IngestOptions) -> Parsed:
    cap = LINE_ESCAPE_FACTOR * options.max_bytes + LINE_SLACK_BYTES
    for number, raw in enumerate(_bounded_lines(stream, cap), 1):
        where = f"{source}:{number}"
        if raw is None:
            yield where, fail(IngestError.E_OVER_LIMIT, where, limit=cap)
        elif raw.strip():
            yield where, _json_record(raw, where, options.encoding or "utf-8")


def read_jsonl(stream: BinaryIO, source: str, options: IngestOptions) -> Items:
    """Reader for .jsonl: one document per JSON object line; blank lines are skipped."""
    _check_head(stream, source)
    yield from _guarded(_json_lines(stream, source, options), options)


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


def _csv_header(reader: csv.DictReader[str], source: str, options: IngestOptions) -> list[str]:
    try:
        header = reader.fieldnames
    except (csv.Error, UnicodeDecodeError) as exc:
        raise fail(IngestError.E_MALFORMED, source, kind="CSV header", reason=str(exc)) from exc
    if not header:
        raise fail(IngestError.E_EMPTY, source)
    if options.fields.text not in header:
        found = ", ".join(header[:12])
        raise fail(IngestError.E_FIELD, source, field=options.fields.text, found=found)
    return list(header)


Line = tuple[str, str | None]  # a decoded line, and why it could not be decoded (or None)
_BARE_CR = re.compile(rb"(?<=\r)(?!\n)")  # old Mac line ends: csv reads them as line ends too


def _byte_lines(stream: BinaryIO, encoding: str) -> Iterator[Line]:
    """The stream's lines, each decoded on its own, so one undecodable byte costs one line.

    Only for encodings where the bytes of LF and CR always mean a line end (all but UTF-16/32).
    A line that does not decode is read with U+FFFD in place, to keep csv in step, and its row
    fails (E014).
    """
    codec = "utf-8" if codecs.lookup(encoding).name == "utf-8-sig" else encoding  # BOM: once
    first = encoding
    for raw in stream:
        for part in _BARE_CR.split(raw) if b"\r" in raw else (raw,):
            if not part:
                continue
            try:
                yield part.decode(first), None
            except UnicodeDecodeError as exc:
                yield part.decode(first, "replace"), str(exc)
            first = codec


def _text_lines(text: IO[str]) -> Iterator[Line]:
    """UTF-16/32 lines, decoded by the text wrapper (their LF is two or four bytes)."""
    while line := text.readline():
        yield line, None


def _splits_on_bytes(encoding: str) -> bool:
    return not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


class _Lines:
    """The lines of a CSV text as csv reads them, keeping those of the row being read.

    csv reads a cell whose quote never closes to the end of the file, taking every later row
    with it; the kept lines let `_csv_rows` notice that and hand the swallowed lines back.
    """

    def __init__(self, lines: Iterator[Line]) -> None:
        self._lines = lines
        self._again: list[str] = []  # lines handed back, to be read again (last one first)
        self.number = 0  # lines read so far
        self.row: list[str] = []  # the lines of the row being read
        self.undecodable: str | None = None  # why a line of the row did not decode
        self.at_end = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            line = self._again.pop()
        else:
            line, why = next(self._lines, ("", None))
            self.undecodable = self.undecodable or why
        if not line:
            self.at_end = True
            raise StopIteration
        self.number += 1
        self.row.append(line)
        return line

    def start_row(self) -> int:
        """Begin a row; the number of the line it starts on."""
        self.row, self.undecodable = [], None
        return self.number + 1

    def read_again(self, lines: list[str]) -> None:
        self._again.extend(reversed(lines))
        self.number -= len(lines)
        self.at_end = False


_END_MARK = "propscope\x1fend"  # no quote, comma or newline: outside a quote it is a row of its own
_CSV_SPECIAL = re.compile('[",\r\n]')


def _unclosed_quote(lines: list[str]) -> int | None:
    """Which of a row's lines opens a quote that is still open at the end of the file, or None.

    The same csv parser reads the lines again with a mark after a newline: inside an open quote,
    the mark ends up in the last cell; otherwise it is a row of its own.
    """
    rows = list(csv.reader(io.StringIO("".join(lines) + "\n" + _END_MARK, newline="")))
    if not rows or not rows[-1] or not rows[-1][-1].endswith("\n" + _END_MARK):
        return None
    return _last_opening(lines)


def _last_opening(lines: list[str]) -> int:
    """The line of the last quote that opens a cell, read as csv does (a quote opens only at the
    start of a cell; inside one, "" is a quote and a lone " closes it)."""
    inside, opened = False, 0
    for index, line in enumerate(lines):
        cell_start, skip = 0, -1
        for found in _CSV_SPECIAL.finditer(line):
            at, char = found.start(), found.group()
            if at == skip:
                continue
            if inside and char == '"':
                inside = line.startswith('"', at + 1)  # "" stays inside, as one quote
                skip = at + 1 if inside else skip
            elif not inside and char == '"':
                inside = at == cell_start
                opened = index if inside else opened
            elif not inside:
                cell_start = at + 1
    return opened


def _csv_rows(lines: _Lines, source: str, options: IngestOptions) -> Parsed:
    reader = csv.DictReader(lines)
    header = _csv_header(reader, source, options)
    if lines.undecodable:
        raise fail(IngestError.E_ENCODING, f"{source}:1", reason=lines.undecodable)
    while True:
        first = lines.start_row()
        where = f"{source}:{first}"
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield where, fail(IngestError.E_MALFORMED, where, kind="CSV row", reason=str(exc))
            continue
        except UnicodeDecodeError as exc:
            raise fail(IngestError.E_ENCODING, where, reason=str(exc)) from exc
        where = f"{source}:{first + _blank_lines(lines.row)}"  # csv skips blank lines itself
        if lines.at_end and (opened := _unclosed_quote(lines.row)) is not None:
            yield where, _open_quote(where, first + opened, len(lines.row) - opened - 1)
            lines.read_again(lines.row[opened + 1 :])
            reader = csv.DictReader(lines, fieldnames=header)
            continue
        if lines.undecodable:
            yield where, fail(IngestError.E_ENCODING, where, reason=lines.undecodable)
            continue
        yield where, _row(row, where, len(header))


def _open_quote(where: str, line: int, after: int) -> IngestError:
    """E037 for a row whose quote opens on `line` and runs over the `after` lines to the end."""
    s = "" if after == 1 else "s"
    rest = f"; the {after:,} line{s} after it were read as rows of their own" if after else ""
    return fail(IngestError.E_OPEN_QUOTE, where, line=line, rest=rest)


def _blank_lines(lines: list[str]) -> int:
    """How many of a row's first lines are blank (csv reads past them to the row)."""
    return next((i for i, line in enumerate(lines) if line.strip("\r\n")), 0)


def read_csv(stream: BinaryIO, source: str, options: IngestOptions) -> Items:
    """Reader for .csv: a header row, then one document per row."""
    encoding = _table_encoding(_check_head(stream, source), options)
    # Articles are longer than csv's default 128 KiB field limit.
    csv.field_size_limit(max(csv.field_size_limit(), options.max_bytes * 4))
    if _splits_on_bytes(encoding):
        yield from _guarded(_csv_rows(_Lines(_byte_lines(stream, encoding)), source, options), options)
        return
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield from _guarded(_csv_rows(_Lines(_text_lines(text)), source, options), options)
    finally:
        text.detach()  # the caller owns the stream; do not let the wrapper close it
