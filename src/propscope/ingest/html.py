"""HTML pages via trafilatura: the article text and its metadata, never comments or scripts."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import cache
from html.parser import HTMLParser
from typing import Any, BinaryIO

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest._common import Items, build_document, fail, read_capped, strip_control_chars
from propscope.ingest._decode import declared_charset, decode
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
# libxml2 stops building the tree 256 elements deep, so trafilatura finds no text below that.
MAX_DEPTH = 255
# For pages past MAX_DEPTH or MAX_TREE_SIZE: elements whose text is not article text, and
# elements whose end tag is optional (they do not deepen the page when left open).
_FLAT_SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside"}
    | {"form", "button", "select", "iframe", "object"}
)
_OPEN_ENDED = frozenset({"p", "li", "dt", "dd", "tr", "td", "th", "option", "colgroup"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})
_VOID |= {"source", "track", "wbr", "param"}
# A numeric character reference: &#27; or &#x1b; becomes ESC in the parsed page, and one such
# character makes trafilatura drop the whole article (lxml refuses control characters).
_REFERENCE = re.compile(r"&#(?:[xX]0*([0-9a-fA-F]{1,6})|0*([0-9]{1,7}));?")

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


def _without_controls(html: str) -> str:
    """The markup without control characters, raw or written as numeric character references."""

    def keep(match: re.Match[str]) -> str:
        code = int(match[1], 16) if match[1] else int(match[2])
        return "" if code < 0x110000 and strip_control_chars(chr(code)) == "" else match[0]

    return _REFERENCE.sub(keep, strip_control_chars(html))


class _FlatText(HTMLParser):
    """A page's visible text in one pass, with no tree: for pages too deep or too big for lxml."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.elements = self.depth = self.max_depth = 0
        self._skipping = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.elements += 1
        self._in_title = tag == "title"
        self._skipping += tag in _FLAT_SKIP
        if tag not in _VOID and tag not in _OPEN_ENDED:
            self.depth += 1
            self.max_depth = max(self.max_depth, self.depth)
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
        if tag in _FLAT_SKIP:
            self._skipping = max(self._skipping - 1, 0)
        if tag not in _VOID and tag not in _OPEN_ENDED:
            self.depth = max(self.depth - 1, 0)
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skipping:
            self.parts.append(data)


def _flat_document(html: str, source: str, url: str | None, warnings: Sequence[str]) -> Document | None:
    """The whole visible text of a page past lxml's depth or size limits (with an E048 warning).

    None for an ordinary page: there trafilatura's verdict (no main text) stands, since a flat
    reading would take navigation for an article.
    """
    flat = _FlatText()
    flat.feed(html)
    flat.close()
    if flat.max_depth <= MAX_DEPTH and flat.elements <= MAX_TREE_SIZE:
        return None
    text = _body("".join(flat.parts), None)
    if len(text.split()) < MIN_ARTICLE_WORDS:
        return None
    warning = fail(IngestError.E_FLAT, source, depth=flat.max_depth, elements=flat.elements)
    title = normalise_whitespace("".join(flat.title)).strip()
    return build_document(text, source=source, title=title, url=url, warnings=(*warnings, str(warning)))


def html_document(
    html: str, source: str, *, url: str | None = None, warnings: Sequence[str] = ()
) -> Document:
    """The article in a decoded HTML page (E015 when unparseable, E016 when it has no text).

    A page nested deeper than MAX_DEPTH or with more than MAX_TREE_SIZE elements, where
    trafilatura finds nothing, gives its whole visible text instead (see `_flat_document`).
    """
    html = _without_controls(html)
    try:
        result = _extract(html, url)
    except Exception as exc:  # lxml/trafilatura raise many types on hostile markup
        raise fail(IngestError.E_MALFORMED, source, kind="HTML", reason=repr(exc)) from exc
    text = _body(result.text or "", result.title) if result is not None else ""
    if len(text.split()) < MIN_ARTICLE_WORDS:
        if flat := _flat_document(html, source, url, warnings):
            return flat
        raise fail(IngestError.E_NO_TEXT, source, reason="the page has no main text block")
    return build_document(
        text,
        source=source,
        title=result.title,
        author=result.author,
        outlet=result.sitename,
        url=url or result.url,
        published=result.date,
        warnings=warnings,
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
    decoded = decode(data, source, encoding, hint=charset or declared_charset(data))
    return html_document(decoded.text, source, url=url, warnings=decoded.warnings)


def fragment_text(html: str) -> str:
    """Plain text of a small HTML fragment (a feed entry), keeping paragraph breaks."""
    import lxml.html  # type: ignore[import-untyped]
    from lxml.etree import ParserError  # type: ignore[import-untyped]

    html = _without_controls(html)
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
