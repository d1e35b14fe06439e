"""JSONL and CSV ingestion: field mapping, and bad records failing alone with their line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from propscope.config import FieldMap, IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest import IngestFailure, iter_documents
from propscope.ingest.tables import read_csv, read_jsonl

MAPPED = IngestOptions(
    fields=FieldMap(
        text="body",
        title="headline",
        author="writer",
        outlet="site",
        url="link",
        published="date",
        id="uid",
    )
)
SENTENCE = "The ferry to the islands will run twice a day from June, the operator announced."


def split(items: list[Document | IngestFailure]) -> tuple[list[Document], list[IngestFailure]]:
    docs = [i for i in items if isinstance(i, Document)]
    return docs, [i for i in items if isinstance(i, IngestFailure)]


def test_jsonl_with_field_map(ingest_data: Path) -> None:
    docs, failures = split(list(iter_documents([ingest_data / "corpus.jsonl"], MAPPED)))
    assert (len(docs), len(failures)) == (3, 4)
    first = docs[0]
    assert (first.title, first.author, first.outlet) == (
        "Airport Tram Delayed Again",
        "Ana Petrov",
        "Metro Daily",
    )
    assert (first.url, first.published) == ("https://metro.example/tram", "2024-02-01")
    assert dict(first.meta) == {"section": "city", "record_id": "a-1"}
    assert first.source == f"{ingest_data / 'corpus.jsonl'}:1"
    assert first.language == "en"


@pytest.mark.parametrize(
    ("line", "code", "why"),
    [
        (3, "E015", "malformed JSON line"),
        (5, "E015", "a JSON list where an object"),
        (6, "E017", "no text field 'body'"),
        (7, "E016", "field 'body' is empty"),
    ],
)
def test_jsonl_bad_lines_fail_alone(ingest_data: Path, line: int, code: str, why: str) -> None:
    _, failures = split(list(iter_documents([ingest_data / "corpus.jsonl"], MAPPED)))
    by_line = {f.source.rsplit(":", 1)[1]: f for f in failures}
    assert set(by_line) == {"3", "5", "6", "7"}
    failure = by_line[str(line)]
    assert failure.code == code and why in failure.message
    assert failure.message.startswith(f"{code} {ingest_data / 'corpus.jsonl'}:{line}: ")


def test_default_field_names() -> None:
    data = json.dumps({"text": SENTENCE, "title": "Ferry Timetable", "extra": [1, 2]}).encode()
    (doc,) = read_jsonl(io.BytesIO(data), "in.jsonl", IngestOptions())
    assert isinstance(doc, Document)
    assert doc.title == "Ferry Timetable" and doc.text == SENTENCE
    assert dict(doc.meta) == {}  # non-scalar extras are not kept


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "E010"), (b"\n\n", "E010"), (b"\x00\x01binary\x00" * 10, "E012")],
)
def test_unreadable_jsonl_files(data: bytes, code: str) -> None:
    with pytest.raises(IngestError, match=f"^{code} in.jsonl"):
        list(read_jsonl(io.BytesIO(data), "in.jsonl", IngestOptions()))


def test_jsonl_record_over_max_bytes_fails_alone() -> None:
    lines = [json.dumps({"text": SENTENCE * 20}), json.dumps({"text": SENTENCE})]
    items = list(read_jsonl(io.BytesIO("\n".join(lines).encode()), "in.jsonl", IngestOptions(max_bytes=200)))
    assert isinstance(items[0], IngestFailure) and items[0].code == "E013"
    assert isinstance(items[1], Document)


def test_jsonl_invalid_utf8_line_fails_alone() -> None:
    data = json.dumps({"text": SENTENCE}).encode() + b"\n" + b'{"text": "caf\xe9 au lait"}\n'
    items = list(read_jsonl(io.BytesIO(data), "in.jsonl", IngestOptions()))
    assert isinstance(items[0], Document)
    assert isinstance(items[1], IngestFailure) and items[1].code == "E014"


def test_csv_rows_and_malformed_rows(ingest_data: Path) -> None:
    items = list(iter_documents([ingest_data / "corpus.csv"]))
    docs, failures = split(items)
    assert [d.title for d in docs] == ["Library Hours Extended", "Canal Cycle Path Opens"]
    assert docs[0].author == "Lena Fisk" and docs[1].author is None
    assert [f.source.rsplit(":", 1)[1] for f in failures] == ["3", "5"]
    assert all(f.code == "E015" and "cells where the header has 3" in f.message for f in failures)


def test_csv_without_text_column_names_the_flag(ingest_data: Path) -> None:
    (failure,) = list(iter_documents([ingest_data / "corpus.csv"], MAPPED))
    assert isinstance(failure, IngestFailure)
    assert failure.code == "E017"
    assert "--text-field" in failure.message and "found: text, title, author" in failure.message


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_csv_encodings(encoding: str) -> None:
    text = "Le café du port rouvre ses portes après des travaux qui ont duré près d'un an."
    data = csv_bytes([["text", "title"], [text, "Café rouvert"]], encoding)
    (doc,) = read_csv(io.BytesIO(data), "in.csv", IngestOptions())
    assert isinstance(doc, Document)
    assert doc.text == text and doc.title == "Café rouvert"


def test_csv_long_field_is_read() -> None:
    text = SENTENCE * 2000  # ~160 KB: over csv's default 128 KiB field limit
    (doc,) = read_csv(io.BytesIO(csv_bytes([["text"], [text]])), "in.csv", IngestOptions())
    assert isinstance(doc, Document)


def test_csv_unterminated_quote_does_not_crash() -> None:
    data = b'text,title\n"' + SENTENCE.encode() + b",Unclosed\n"
    items = list(read_csv(io.BytesIO(data), "in.csv", IngestOptions()))
    assert all(isinstance(i, (Document, IngestFailure)) for i in items)


def test_csv_stream_is_left_open() -> None:
    stream = io.BytesIO(csv_bytes([["text"], [SENTENCE]]))
    list(read_csv(stream, "in.csv", IngestOptions()))
    assert not stream.closed
