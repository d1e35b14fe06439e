"""HTML pages via trafilatura: the article text and its metadata, never comments or scripts."""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any, BinaryIO

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest._common import Items, build_document, fail, read_capped
from propscope.ingest._decode import declared_charset, decode_bytes
from propscope.ingest.text import normalise_whitespace, tidy

# Pages with more elements than this are hostile or not articles; trafilatura gives up on them
# instead of spending seconds (news pages typically have a few thousand).
MAX_TREE_SIZE = 100_000
# Trafilatura joins paragraphs with one newline; we separate paragraphs by a blank line, as in
# the plain-text reader, so every document's text has the same paragraph shape.
# Fewer words than this is not an article: on pages without one, trafilatura falls back to
# navigation ("Home"), while even the shortest news briefs run to a sentence or two.
MIN_ARTICLE_WORDS = 8
_PARAGRAPH_BREAK = re.compile(r"\n+")
_BLOCK_TAGS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr")

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # its per-page warnings are noise


@cache
def _config() -> Any:
    """Trafilatura's settings with our tree cap and no signal-based timeout (unsafe in threads)."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_SIZE))
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
    return config


def _extract(html: str, url: str | None) -> Any:
    import trafilatura

    return trafilatura.bare_extraction(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        with_metadata=True,
        config=_config(),
        date_extraction_params={"extensive_search": False, "original_date": True},
    )


def _body(text: str, title: str | None) -> str:
    """Paragraphs separated by blank lines, without a first line that repeats the title."""
    lines = [line for line in normalise_whitespace(text).split("\n") if line]
    if title and lines and lines[0] == normalise_whitespace(title):
        lines = lines[1:]
    return _PARAGRAPH_BREAK.sub("\n\n", "\n".join(lines)).strip()


def html_document(html: str, source: str, *, url: str | None = None) -> Document:
    """The article in a decoded HTML page (E015 when unparseable, E016 when it has no text)."""
    try:
        result = _extract(html, url)
    except Exception as exc:  # lxml/trafilatura raise many types on hostile markup
        raise fail(IngestError.E_MALFORMED, source, kind="HTML", reason=repr(exc)) from exc
    text = _body(result.text or "", result.title) if result is not None else ""
    if len(text.split()) < MIN_ARTICLE_WORDS:
        raise fail(IngestError.E_NO_TEXT, source, reason="the page has no main text block")
    return build_document(
        text,
        source=source,
        title=result.title,
        author=result.author,
        outlet=result.sitename,
        url=url or result.url,
        published=result.date,
    )


def parse_html(
    data: bytes,
    source: str,
    options: IngestOptions | None = None,
    *,
    url: str | None = None,
    charset: str | None = None,
) -> Document:
    """One Document from the bytes of an HTML page.

    Args:
        data: the raw page; its <meta charset> is honoured before guessing an encoding.
        source: the file name, URL or "<stdin>", used in `Document.source` and errors.
        options: --encoding is honoured; size limits are checked by the caller.
        url: the page's address, which trafilatura also uses to resolve metadata.
        charset: the encoding the server declared, preferred to the page's own <meta>.

    Returns:
        The Document; raises IngestError (E010, E012, E014, E015, E016) when there is none.
    """
    encoding = (options or IngestOptions()).encoding
    html = decode_bytes(data, source, encoding, hint=charset or declared_charset(data))
    return html_document(html, source, url=url)


def fragment_text(html: str) -> str:
    """Plain text of a small HTML fragment (a feed entry), keeping paragraph breaks."""
    import lxml.html  # type: ignore[import-untyped]
    from lxml.etree import ParserError  # type: ignore[import-untyped]

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (ParserError, ValueError):
        return tidy(html)
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    for block in root.iter(*_BLOCK_TAGS):
        block.tail = "\n\n" + (block.tail or "")
    return tidy(root.text_content())


def read_html(stream: BinaryIO, source: str, options: IngestOptions) -> Items:
    """Reader for .html files: exactly one document, within --max-bytes."""
    yield parse_html(read_capped(stream, source, options.max_bytes), source, options)
