"""Decoding hardening (issue 13): no silent mojibake, --encoding before the binary sniff, no
control characters in stored text whatever the input kind, gzipped text read as text."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest import IngestFailure, iter_documents, load, parse_html, parse_text
from propscope.ingest._common import WARNINGS_KEY, strip_control_chars
from propscope.ingest._decode import decode

ENGLISH = (
    "The council\u2019s \u201cexpert\u201d panel met on Tuesday \u2014 again \u2014 and said the "
    "harbour repairs must come first, before any new spending on roads."
)
RUSSIAN = (
    "Власти заявили, что выборы пройдут честно. Оппозиция с этим не согласна и обещает "
    "продолжить протесты на следующей неделе."
)
CP1252 = (
    "Le gouvernement a d\u00e9clar\u00e9 que les \u00e9lections se d\u00e9rouleraient \u00e0 la "
    "date pr\u00e9vue, malgr\u00e9 les critiques de l\u2019opposition."
)


def with_stray_byte(text: str) -> bytes:
    """UTF-8 of `text` with one 0xFF byte spliced in between two words."""
    data = text.encode()
    cut = data.index(b" ", len(data) // 2)
    return data[:cut] + b" \xff" + data[cut:]


@pytest.mark.parametrize("text", [ENGLISH, RUSSIAN], ids=["english", "cyrillic"])
def test_utf8_with_one_stray_byte_stays_utf8_and_warns(text: str, caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="propscope.ingest"):
        doc = parse_text(with_stray_byte(text), "stray.txt")
    assert doc.text == text[: doc.text.index("\ufffd") - 1] + " \ufffd" + text[doc.text.index("\ufffd") - 1 :]
    assert doc.text.replace(" \ufffd", "") == text  # every valid character kept, no mojibake
    [warning] = doc.meta[WARNINGS_KEY]
    assert warning.startswith("E047 stray.txt: read as utf-8, with 1 undecodable byte replaced")
    assert "E047 stray.txt" in caplog.text


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_genuine_legacy_text_decodes_without_warning(encoding: str) -> None:
    data = CP1252.encode(encoding) if encoding == "cp1252" else CP1252.replace("\u2019", "'").encode(encoding)
    decoded = decode(data, "old.txt")
    assert decoded.text == (CP1252 if encoding == "cp1252" else CP1252.replace("\u2019", "'"))
    assert decoded.warnings == ()


def test_bytes_undefined_in_cp1252_are_replaced_not_read_as_cjk() -> None:
    data = b"The council met on Tuesday \x81 and voted \x8d to approve the \x90 budget for next year."
    decoded = decode(data, "undef.txt")
    assert decoded.text == (
        "The council met on Tuesday \ufffd and voted \ufffd to approve the \ufffd budget for next year."
    )
    assert decoded.warnings and decoded.warnings[0].startswith("E047 undef.txt: read as cp1252, with 3")


def test_mostly_undecodable_bytes_are_refused() -> None:
    junk = b"\x81\x8d\x90\x9d"
    data = b"The council " + junk + b" met " + junk + b" on Tuesday " + junk * 2 + b" ok."
    with pytest.raises(IngestError, match=r"^E014 junk.txt: cannot decode the text \(16 bytes are not valid"):
        decode(data, "junk.txt")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_explicit_encoding_reads_bom_less_utf16(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes(ENGLISH.encode(encoding))
    assert load(path, IngestOptions(encoding=encoding)).text == ENGLISH
    with pytest.raises(IngestError, match=rf"^E012 .*NUL bytes; .*pass --encoding {encoding}"):
        load(path)


def test_explicit_encoding_still_refuses_binary() -> None:
    with pytest.raises(IngestError, match=r"^E012 b.bin: it looks binary \(read as latin-1, "):
        decode(bytes(range(256)) * 4, "b.bin", encoding="latin-1")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a \x1b b", "a b"),
        ("a\x1b[31mred", "a[31mred"),
        ("tab\tlf\ncr\r", "tab\tlf\ncr\r"),
        ("page\x0cbreak\x0bvt\x85nel", "page\nbreak\nvt\nnel"),
        ("c1\x80\x9f\x7fdel", "c1del"),
        ("nul\x00stays", "nul\x00stays"),  # refused by Document (E034), never dropped silently
        ("plain text", "plain text"),
    ],
)
def test_strip_control_chars(raw: str, clean: str) -> None:
    assert strip_control_chars(raw) == clean


def _sentence(marker: str) -> str:
    return (
        f"The regional council debated the {marker} plan{marker and ' '}for three hours on "
        "Wednesday before voting to send it back to committee for further study by the staff."
    )


def _kinds(tmp_path: Path, warc_bytes: Any) -> list[Path]:
    text = _sentence("\x1b]0;title\x07\x1b[2J\x9d")
    html = f"<html><head><title>T\x1bitle</title></head><body><article><p>{text}</p></article></body></html>"
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>F\x1b</title><item>'
        f"<title>Entry\x1b[1m</title><description>{text}</description></item></channel></rss>"
    )
    files = {
        "a.txt": text.encode(),
        "b.html": html.encode(),
        "c.jsonl": (json.dumps({"text": text, "title": "J\x1btitle", "tag": "x\x1by"}) + "\n").encode(),
        "d.rss": feed.encode(),
        "e.warc.gz": warc_bytes([("https://a.example/x", "text/html", html.encode())]),
        "f.txt.gz": gzip.compress(text.encode()),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return [tmp_path / name for name in files]


def test_no_input_kind_stores_control_characters(tmp_path: Path, warc_bytes: Any) -> None:
    items = list(iter_documents(_kinds(tmp_path, warc_bytes)))
    docs = [item for item in items if isinstance(item, Document)]
    failures = [item for item in items if isinstance(item, IngestFailure) and not item.duplicate]
    assert not failures and len(docs) + sum(isinstance(i, IngestFailure) for i in items) == 6
    for doc in docs:
        fields = [doc.text, doc.title, doc.author, doc.outlet, doc.url, *map(str, doc.meta.values())]
        assert not any(ch in (field or "") for field in fields for ch in "\x1b\x07\x9d\x9b"), doc.source
        assert "regional council" in doc.text


def test_html_character_references_to_controls_are_dropped() -> None:
    body = f"<p>{_sentence('&#27;[2J &#155;')}</p><p>Residents applauded the decision.</p>"
    page = f"<html><head><title>Roads</title></head><body><article>{body}</article></body></html>"
    doc = parse_html(page.encode(), "ref.html")
    assert "\x1b" not in doc.text and "\x9b" not in doc.text


def test_gzipped_text_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(_sentence("roads").encode()))
    assert load(path).text == _sentence("roads")


def test_cut_gzipped_text_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(_sentence("roads").encode() * 20)[:60])
    with pytest.raises(IngestError, match=r"^E015 .*notes.txt.gz: malformed gzip data \(Compressed file"):
        load(path)


def test_gzip_bomb_text_stops_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.txt.gz"
    path.write_bytes(gzip.compress(b"a " * 3_000_000))
    with pytest.raises(IngestError, match=r"^E013 .*bomb.txt.gz: over the 1,000-byte limit") as caught:
        load(path, IngestOptions(max_bytes=1_000))
    assert "1,001" not in str(caught.value)
