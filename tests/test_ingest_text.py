"""Plain-text ingestion: decoding, boilerplate, title/byline/source lines, language."""

from __future__ import annotations

from pathlib import Path

import pytest

from propscope.config import IngestOptions
from propscope.errors import IngestError
from propscope.ingest import clean_article, detect_language, load, parse_text

BODY = (
    "The committee met on Tuesday to discuss the budget for the coming year, and members "
    "agreed that the harbour repairs should come first.\n\n"
    "Several members said the town could not wait another winter for the sea wall to be fixed."
)


def test_specimen_gives_clean_text_and_metadata(specimen: Path) -> None:
    doc = load(specimen)
    assert doc.title == "Kazakhstan’s Security was Undermined by Outside Forces"
    assert doc.author == "Vladimir Platov"
    assert doc.outlet == "New Eastern Outlook"
    assert doc.language == "en"
    for junk in ("Similar Posts", "Leave a Reply", "Your email address", "By Vladimir Platov"):
        assert junk not in doc.text
    assert "Source:" not in doc.text and "\u00a0" not in doc.text and "  " not in doc.text
    assert doc.text.startswith("Numerous publications")
    assert doc.text.endswith("returned to normal.")


def test_fixture_article_strips_share_buttons_and_tail(ingest_data: Path) -> None:
    doc = load(ingest_data / "article.txt")
    assert doc.title == "Harbour Workers Blame Distant Consultants for the Grain Dispute"
    assert doc.author == "Mira Okonkwo-Hale"
    assert doc.outlet == "The Tessaly Courier"
    assert doc.source == str(ingest_data / "article.txt")
    assert doc.text.startswith("The grain terminal")
    assert doc.text.endswith("empty berths.")
    for junk in ("Share this", "Facebook", "Twitter", "Related Posts", "Ferry timetable"):
        assert junk not in doc.text


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        # boilerplate words inside a sentence are article text
        (
            "Title Here\n\nShe said she would share this with Facebook and Twitter users. " + BODY,
            "share this with Facebook and Twitter users",
        ),
        (
            "Title Here\n\n" + BODY + "\n\nLeave a reply, the minister told the protesters.",
            "Leave a reply, the minister told",
        ),
        # a tail marker before any article text is dropped as a line, not a cut
        ("Related Posts\n\nTitle Here\n\n" + BODY, "sea wall to be fixed"),
    ],
)
def test_boilerplate_words_inside_sentences_are_kept(raw: str, kept: str) -> None:
    assert kept in clean_article(raw).body


@pytest.mark.parametrize(
    "tail",
    [
        "Similar Posts\n\nAnother story\n\nLeave a Reply",
        "You may also like\n\nA story about cats",
        "Your email address will not be published. Required fields are marked *",
        "We use cookies to give you the best experience on our website.\n\nAccept all cookies",
        "Share this:\nTweet\nWhatsApp\nTelegram",
        "Post navigation\nPrevious Post\nNext Post",
    ],
)
def test_trailing_boilerplate_is_cut(tail: str) -> None:
    article = clean_article(f"Title Here\n\n{BODY}\n\n{tail}\n")
    assert article.body == BODY


@pytest.mark.parametrize(
    ("first_line", "title"),
    [
        ("A Short Headline", "A Short Headline"),
        ("Is the Harbour Safe?", "Is the Harbour Safe?"),
        ("This first line is a sentence.", None),
        ("Ends with a colon:", None),
        ("By Jane Doe", None),
        (" ".join(["word"] * 40), None),
    ],
)
def test_title_is_a_short_first_line_without_a_period(first_line: str, title: str | None) -> None:
    article = clean_article(f"{first_line}\n\n{BODY}")
    assert article.title == title
    if title:
        assert title not in article.body


def test_single_line_is_body_not_title() -> None:
    article = clean_article("Just one short line")
    assert (article.title, article.body) == (None, "Just one short line")


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        ("By Jane Doe", "author", "Jane Doe"),
        ("By Anna van der Berg and Li Wei", "author", "Anna van der Berg and Li Wei"),
        ("By John Q.", "author", "John Q."),
        ("Author: Omar Haddad", "author", "Omar Haddad"),
        ("Source: The Tessaly Courier", "outlet", "The Tessaly Courier"),
        ("Originally published by Valley Weekly.", "outlet", "Valley Weekly"),
        ("Source: https://courier.example/story-1", "url", "https://courier.example/story-1"),
    ],
)
def test_bylines_and_source_lines(line: str, field: str, value: str) -> None:
    for raw in (f"Title Here\n\n{line}\n\n{BODY}", f"Title Here\n\n{BODY}\n\n{line}"):
        article = clean_article(raw)
        assert getattr(article, field) == value
        assert line not in article.body


@pytest.mark.parametrize(
    "line",
    ["By contrast, the committee said nothing at all about the harbour.", "By the river"],
)
def test_sentences_starting_with_by_are_not_bylines(line: str) -> None:
    article = clean_article(f"Title Here\n\n{BODY}\n\n{line}")
    assert article.author is None
    assert line in article.body


def test_whitespace_is_normalised() -> None:
    raw = "Title Here\r\n\r\nOne\u00a0two  three\t four \r\n\r\n\r\n\r\nNext\u200b paragraph.\r\n"
    assert clean_article(raw).body == "One two three four\n\nNext paragraph."


TEXT = "Title Here\n\nThe café’s owner said “naïve” critics misread the menu. " + BODY


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])
def test_encodings_are_detected(encoding: str) -> None:
    text = TEXT if encoding != "latin-1" else TEXT.replace("’", "'").replace("“", '"').replace("”", '"')
    doc = parse_text(text.encode(encoding), "enc.txt")
    assert doc.title == "Title Here"
    assert "café" in doc.text and "naïve" in doc.text
    assert doc.text.startswith("The café")


def test_explicit_wrong_encoding_is_refused() -> None:
    with pytest.raises(IngestError, match=r"^E014 bad.txt: cannot decode .* --encoding"):
        parse_text(TEXT.encode("cp1252"), "bad.txt", IngestOptions(encoding="utf-8"))


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", r"^E010 x.txt: the file is empty"),
        (b" \n\t\r\n ", r"^E010 x.txt: the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"^E012 x.txt: it looks binary \(.*NUL"),
        (bytes(range(1, 32)) * 20, r"^E012 x.txt: it looks binary \(.*control"),
        (b"Share this:\nFacebook\nTwitter\n", r"^E016 x.txt: no article text"),
    ],
)
def test_unreadable_text_is_refused(data: bytes, pattern: str) -> None:
    with pytest.raises(IngestError, match=pattern) as caught:
        parse_text(data, "x.txt")
    assert caught.value.source == "x.txt"


def test_file_over_max_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("Title Here\n\n" + BODY * 10)
    with pytest.raises(IngestError, match=r"^E013 .*huge.txt: [\d,]+ bytes is over the 100-byte"):
        load(path, IngestOptions(max_bytes=100))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (BODY, "en"),
        (
            "Der Ausschuss traf sich am Dienstag, um den Haushalt für das kommende Jahr zu "
            "besprechen, und die Mitglieder waren sich einig.",
            "de",
        ),
        ("Le comité s'est réuni mardi pour discuter du budget de l'année prochaine.", "fr"),
        ("Too short", None),
        ("12345 67890 !!! ???", None),
    ],
)
def test_language_is_identified(text: str, code: str | None) -> None:
    assert detect_language(text) == code
