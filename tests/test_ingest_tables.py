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


# --- one odd record costs at most that record (issue 13: D3, D4, D7, D18) ---------------------

GOOD = [json.dumps({"text": f"{SENTENCE} Record {n}."}) for n in range(1, 7)]
DEEP = "[" * 100_000 + "]" * 100_000


def jsonl_with(line4: str) -> bytes:
    """Six records, the fourth one replaced by `line4` (written as raw JSON text)."""
    return "\n".join([*GOOD[:3], line4, *GOOD[4:]]).encode() + b"\n"


def warnings_of(doc: Document) -> list[str]:
    return list(doc.meta.get("ingest_warnings", []))


@pytest.mark.parametrize(
    ("line4", "code", "why"),
    [
        ('{"text": "x", "deep": ' + DEEP + "}", "E015", "nested more than"),
        ('{"text": NaN}', "E015", "field 'text' is NaN, not a string"),
        ('{"text": 1e999}', "E015", "field 'text' is 1e999, not a string"),
        ('{"text": ' + "7" * 5000 + "}", "E015", "field 'text' is a 5,000-digit integer"),
    ],
    ids=["deep", "nan-text", "inf-text", "huge-text"],
)
def test_jsonl_record_that_cannot_be_read_fails_alone_with_its_line(line4: str, code: str, why: str) -> None:
    items = list(read_jsonl(io.BytesIO(jsonl_with(line4)), "in.jsonl", IngestOptions()))
    docs, failures = split(items)
    assert [d.source for d in docs] == [f"in.jsonl:{n}" for n in (1, 2, 3, 5, 6)]
    (failure,) = failures
    assert failure.source == "in.jsonl:4" and failure.code == code
    assert failure.message.startswith(f"{code} in.jsonl:4: ") and why in failure.message


@pytest.mark.parametrize(
    ("line4", "field", "value"),
    [
        ('{"text": "NaN probe: the elites lie.", "n": NaN}', "n", "NaN"),
        ('{"text": "NaN probe: the elites lie.", "n": Infinity}', "n", "Infinity"),
        ('{"text": "NaN probe: the elites lie.", "n": -Infinity}', "n", "-Infinity"),
        ('{"text": "NaN probe: the elites lie.", "big": 1e999}', "big", "1e999"),
        ('{"text": "NaN probe: the elites lie.", "big": ' + "9" * 5000 + "}", "big", "a 5,000-digit integer"),
        ('{"text": "NaN probe: the elites lie.", "title": NaN}', "title", "NaN"),
    ],
    ids=["nan", "inf", "-inf", "1e999", "huge-int", "nan-title"],
)
def test_jsonl_number_json_cannot_hold_leaves_out_its_field(line4: str, field: str, value: str) -> None:
    items = list(read_jsonl(io.BytesIO(jsonl_with(line4)), "in.jsonl", IngestOptions()))
    docs, failures = split(items)
    assert not failures and len(docs) == 6
    doc = docs[3]
    assert doc.text == "NaN probe: the elites lie." and field not in doc.meta and doc.title is None
    (warning,) = warnings_of(doc)
    assert warning.startswith(f"E036 in.jsonl:4: field {field!r} is {value}, which JSON cannot hold")
    assert "the field was left out" in warning
    json.dumps(doc.to_json(), allow_nan=False)  # valid JSON all the way down


def test_jsonl_other_numbers_are_kept() -> None:
    line = '{"text": "Numbers.", "i": -12, "f": 1.5, "e": 2e10, "long": ' + "8" * 4300 + "}"
    (doc,) = read_jsonl(io.BytesIO(line.encode()), "in.jsonl", IngestOptions())
    assert isinstance(doc, Document)
    assert {k: doc.meta[k] for k in ("i", "f", "e")} == {"i": -12, "f": 1.5, "e": 2e10}
    assert doc.meta["long"] == int("8" * 4300) and not warnings_of(doc)


@pytest.mark.parametrize(
    ("line4", "text", "code"),
    [
        (r'{"text": "bad \ud800 text"}', "bad \ufffd text", "E038"),  # the escape stays literal
        (r'{"text": "cut \ud83d"}', "cut \ufffd", "E038"),
        (r'{"text": "trail \udc00x"}', "trail \ufffdx", "E038"),
        (r'{"text": "nul\u0000here"}', "nulhere", "E039"),
    ],
)
def test_jsonl_text_no_store_can_hold_is_mended_with_a_warning(line4: str, text: str, code: str) -> None:
    items = list(read_jsonl(io.BytesIO(jsonl_with(line4)), "in.jsonl", IngestOptions()))
    docs, failures = split(items)
    assert not failures and len(docs) == 6
    doc = docs[3]
    assert doc.text == text
    doc.text.encode("utf-8")  # encodable everywhere downstream (store, JSON, language detection)
    (warning,) = warnings_of(doc)
    assert warning.startswith(f"{code} in.jsonl:4: field 'text' had 1 ")


def test_jsonl_lone_surrogate_keeps_every_offset() -> None:
    line = r'{"text": "a\ud800b \udfffc \ud83d\ude00 d"}'  # two lone ones, then a valid pair
    (doc,) = read_jsonl(io.BytesIO(line.encode()), "in.jsonl", IngestOptions())
    assert isinstance(doc, Document)
    assert doc.text == "a\ufffdb \ufffdc \U0001f600 d"
    (warning,) = warnings_of(doc)
    assert "had 2 lone surrogates (first at character 1)" in warning


@pytest.mark.parametrize(
    ("line", "key", "value", "code"),
    [
        (r'{"text": "Meta.", "note": "x\u0000y"}', "note", "xy", "E039"),
        (r'{"text": "Meta.", "note": "x\udbffy"}', "note", "x\ufffdy", "E038"),
        (r'{"text": "Meta.", "no\u0000te": "v"}', "note", "v", "E039"),
        (r'{"text": "Meta.", "n\ud800": "v"}', "n\ufffd", "v", "E038"),
    ],
)
def test_jsonl_meta_no_store_can_hold_is_mended(line: str, key: str, value: str, code: str) -> None:
    (doc,) = read_jsonl(io.BytesIO(line.encode()), "in.jsonl", IngestOptions())
    assert isinstance(doc, Document)
    assert doc.meta[key] == value
    (warning,) = warnings_of(doc)
    assert warning.startswith(f"{code} in.jsonl:1: field")
    json.dumps(doc.to_json(), ensure_ascii=False, allow_nan=False).encode("utf-8")


def test_jsonl_mapped_fields_are_mended_too() -> None:
    line = r'{"body": "Mapped text.", "headline": "Head\u0000line", "writer": "A\ud800n"}'
    (doc,) = read_jsonl(io.BytesIO(line.encode()), "in.jsonl", MAPPED)
    assert isinstance(doc, Document)
    assert (doc.title, doc.author) == ("Headline", "A\ufffdn")
    assert [w.split(" ", 1)[0] for w in warnings_of(doc)] == ["E039", "E038"]


def csv_lines(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def test_csv_unclosed_quote_names_its_line_and_reads_the_rows_after_it() -> None:
    rows = ["text,title"] + [f"Row {n} of the table is an article.,t{n}" for n in range(1, 11)]
    rows[5] = '"Row 5 opens a quote and never closes it.,t5'
    items = list(read_csv(io.BytesIO(csv_lines(rows)), "in.csv", IngestOptions()))
    docs, failures = split(items)
    assert [d.title for d in docs] == [f"t{n}" for n in (1, 2, 3, 4, 6, 7, 8, 9, 10)]
    assert [d.source for d in docs][4:] == [f"in.csv:{n}" for n in (7, 8, 9, 10, 11)]
    (failure,) = failures
    assert failure.source == "in.csv:6" and failure.code == "E037"
    assert "the quote opened on line 6 is never closed" in failure.message
    assert "the 5 lines after it were read as rows of their own" in failure.message


def test_csv_unclosed_quote_after_a_multiline_cell() -> None:
    data = (
        b'text,title\n"A cell\nover two lines.",one\n'
        b'Fine row,"two\nstill two"\nText,"opens on line 6\nRow after.,t\nLast row.,u\n'
    )
    items = list(read_csv(io.BytesIO(data), "in.csv", IngestOptions()))
    docs, failures = split(items)
    assert [d.title for d in docs] == ["one", "two\nstill two", "t", "u"]
    (failure,) = failures
    assert failure.source == "in.csv:6" and "opened on line 6" in failure.message


def test_csv_unclosed_quote_in_a_later_line_of_the_row() -> None:
    data = b'text,title\n"Starts a cell\nthat ends here.","and then opens one\nLine 4.,x\nLine 5.,y\n'
    items = list(read_csv(io.BytesIO(data), "in.csv", IngestOptions()))
    docs, failures = split(items)
    assert [d.title for d in docs] == ["x", "y"]
    (failure,) = failures
    assert failure.source == "in.csv:2" and "opened on line 3" in failure.message


@pytest.mark.parametrize("ending", ["", "\n"])
def test_csv_unclosed_quote_on_the_last_line(ending: str) -> None:
    data = f'text,title\nFirst row.,a\nLast row.,"unclosed{ending}'.encode()
    items = list(read_csv(io.BytesIO(data), "in.csv", IngestOptions()))
    docs, failures = split(items)
    assert [d.title for d in docs] == ["a"]
    (failure,) = failures
    assert failure.source == "in.csv:3" and failure.code == "E037"
    assert "lines after it" not in failure.message


@pytest.mark.parametrize(
    "data",
    [
        b'text,title\nOne.,a\n"Two,\nstill two.",b',  # quoted last cell, no final newline
        b'text,title\nOne.,a\nTwo.,b',  # plain last row, no final newline
        b'text,title\nOne.,a\n"Say ""hi"".",b\n',  # doubled quotes inside a quoted cell
    ],
)
def test_csv_closed_quotes_at_the_end_are_not_open(data: bytes) -> None:
    items = list(read_csv(io.BytesIO(data), "in.csv", IngestOptions()))
    assert all(isinstance(i, Document) for i in items) and len(items) == 2


def test_csv_row_after_blank_lines_is_named_by_its_own_line() -> None:
    data = b"text,title\nOne.,a\n\n\nFour.,b,extra\n"
    items = list(read_csv(io.BytesIO(data), "in.csv", IngestOptions()))
    assert [i.source for i in items] == ["in.csv:2", "in.csv:5"]


def test_csv_cells_no_store_can_hold_are_mended_and_nan_stays_text() -> None:
    padding = [f"Padding row {n} of a table with many rows.,pad,1" for n in range(200)]  # past the sniff
    rows = ["text,title,score", *padding, "Nul\x00 in text.,Fine,NaN", "Good row.,ok,inf"]
    docs, failures = split(list(read_csv(io.BytesIO(csv_lines(rows)), "in.csv", IngestOptions())))
    assert not failures
    nul, good = docs[-2:]
    assert nul.text == "Nul in text." and nul.meta["score"] == "NaN"
    assert [w.split(" ", 2)[:2] for w in warnings_of(nul)] == [["E039", "in.csv:202:"]]
    assert good.meta["score"] == "inf" and not warnings_of(good)
    json.dumps(nul.to_json(), allow_nan=False)


def test_csv_undecodable_row_fails_alone_with_its_own_line() -> None:
    """Before: the text wrapper decoded 8 KiB ahead, so E014 named an earlier line and every row
    from there on was lost."""
    good = b"".join(b"Row %d of a long table.,t%d\n" % (n, n) for n in range(400))
    data = b"text,title\n" + good + b"Bad \xed\xa0\x80 bytes.,x\nAfter the bad row.,y\n"
    docs, failures = split(list(read_csv(io.BytesIO(data), "in.csv", IngestOptions())))
    assert len(docs) == 401 and docs[-1].title == "y"
    (failure,) = failures
    assert failure.source == "in.csv:402" and failure.code == "E014"


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_csv_line_ends_of_every_kind(newline: str) -> None:
    data = newline.join(["text,title", "One.,a", '"Two,', 'lines.",b', "Three.,c", ""]).encode()
    docs, failures = split(list(read_csv(io.BytesIO(data), "in.csv", IngestOptions())))
    assert not failures and [d.title for d in docs] == ["a", "b", "c"]
    assert [d.source for d in docs] == ["in.csv:2", "in.csv:3", "in.csv:5"]


class _CountingStream(io.BytesIO):
    """A stream that remembers the longest single read, to show no line is held whole."""

    longest = 0

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.longest = max(self.longest, len(line))
        return line

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.longest = max(self.longest, len(data))
        return data

    def __next__(self) -> bytes:
        line = super().__next__()
        self.longest = max(self.longest, len(line))
        return line


def test_jsonl_line_past_what_a_record_can_hold_fails_alone_unread() -> None:
    """D10's sibling: one endless line is refused (E013) without being read into memory whole,
    and the records around it are kept."""
    options = IngestOptions(max_bytes=1_000)
    huge = '{"text": "' + "x" * 3_000_000 + '"}'
    stream = _CountingStream(jsonl_with(huge))
    docs, failures = split(list(read_jsonl(stream, "in.jsonl", options)))
    assert [d.source for d in docs] == [f"in.jsonl:{n}" for n in (1, 2, 3, 5, 6)]
    (failure,) = failures
    assert failure.source == "in.jsonl:4" and failure.code == "E013"
    assert stream.longest <= 6 * 1_000 + (1 << 20) + 1
