"""HTML ingestion via trafilatura: text, metadata, and no crash on hostile or broken pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from propscope.config import IngestOptions
from propscope.errors import IngestError
from propscope.ingest import load, parse_html
from propscope.ingest.html import fragment_text

PARAGRAPH = (
    "<p>The harbour committee agreed on Monday to spend the spring repairing the sea wall, "
    "after storms in February washed away part of the promenade and flooded two shops.</p>"
)


def test_article_text_and_metadata(ingest_data: Path) -> None:
    doc = load(ingest_data / "article.html")
    assert doc.title == "River Ferry Fares Rise Again"
    assert doc.author == "Jonas Whitlock"
    assert doc.outlet == "The Tessaly Courier"
    assert doc.published == "2023-03-14"
    assert doc.url == "https://courier.example/ferry-fares"
    assert doc.language == "en"
    assert doc.text.startswith("Passengers on the river ferry")
    assert "\n\nThe company blamed" in doc.text  # paragraphs separated by a blank line


@pytest.mark.parametrize(
    "absent",
    ["INJECTED SCRIPT TEXT", "STYLE-TEXT", "ONERROR-TEXT", "COMMENT-TEXT", "All rights reserved"],
)
def test_scripts_comments_and_furniture_are_not_text(ingest_data: Path, absent: str) -> None:
    assert absent not in load(ingest_data / "article.html").text


def test_hostile_html_does_not_crash_and_yields_no_payload(ingest_data: Path) -> None:
    doc = load(ingest_data / "hostile.html")
    assert doc.text.startswith("The market square in Ormond")
    for payload in ("PAYLOAD", "SVG-SCRIPT", "alert(", "document.cookie", "javascript:"):
        assert payload not in doc.text


def test_page_without_article_is_e016(ingest_data: Path) -> None:
    with pytest.raises(IngestError, match=r"^E016 .*empty-article.html: no article text"):
        load(ingest_data / "empty-article.html")


@pytest.mark.parametrize(
    "html",
    [
        b"<html><body><p>unclosed <div><<<>>> <<a href='x'>" + PARAGRAPH.encode() * 2,
        b"<div>" * 5000 + PARAGRAPH.encode() + b"</div>" * 10,
        b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'boom'>]><html><body>"
        + PARAGRAPH.encode() * 2
        + b"&e;</body></html>",
    ],
)
def test_malformed_html_never_crashes(html: bytes) -> None:
    try:
        doc = parse_html(html, "broken.html")
    except IngestError as exc:
        assert exc.code in {"E015", "E016"}
    else:
        assert "harbour committee" in doc.text


def test_declared_charset_is_honoured() -> None:
    page = (
        '<html><head><meta charset="windows-1252"><title>Café Talks</title></head><body>'
        f"<article>{PARAGRAPH}<p>The café’s owner said “naïve” plans would fail.</p>"
        "</article></body></html>"
    )
    doc = parse_html(page.encode("cp1252"), "cp.html")
    assert "café’s owner said “naïve”" in doc.text


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"", "E010"), (b"\x00\x01\x02<html>", "E012")],
)
def test_empty_and_binary_html_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(IngestError, match=f"^{code} x.html"):
        parse_html(data, "x.html")


def test_html_over_max_bytes_is_refused(ingest_data: Path) -> None:
    with pytest.raises(IngestError, match=r"^E013 .*article.html"):
        load(ingest_data / "article.html", IngestOptions(max_bytes=500))


def test_fragment_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = "<p>One <b>bold</b> idea.</p><script>alert(1)</script><ul><li>a</li><li>b</li></ul>"
    assert fragment_text(html) == "One bold idea.\n\na\n\nb"


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_page_still_gives_its_text(depth: int) -> None:
    from propscope.ingest._common import WARNINGS_KEY

    text = (
        "<p>The regional council debated the roads plan for three hours on Wednesday before "
        "voting to send it back to committee.</p><p>Residents applauded the decision.</p>"
    )
    page = (
        "<html><head><title>Deep</title><script>var x = 1;</script></head><body>"
        f"<nav>Home | News | Sport</nav>{'<div>' * depth}{text}{'</div>' * depth}</body></html>"
    )
    doc = parse_html(page.encode(), "deep.html")
    assert doc.title == "Deep"
    assert doc.text == (
        "The regional council debated the roads plan for three hours on Wednesday before voting "
        "to send it back to committee.\n\nResidents applauded the decision."
    )
    [warning] = doc.meta[WARNINGS_KEY]
    assert warning.startswith(f"E048 deep.html: the page nests elements {depth + 2:,} deep")


def test_shallow_page_without_article_is_still_e016() -> None:
    page = "<html><body><nav>Home</nav><div><span>Sign in</span></div></body></html>"
    with pytest.raises(IngestError, match=r"^E016"):
        parse_html(page.encode(), "nav.html")
