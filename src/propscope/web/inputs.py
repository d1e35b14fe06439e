"""Client data checks: what cannot be analysed or stored is refused with a code (4xx), never a 500.

JSON may carry escapes that are no character at all (a lone surrogate, `"\\ud800"`), which no
encoder can write, and JSON, forms and URLs may carry NUL (`\\u0000`, `%00`), which PostgreSQL
refuses to store. Both are the client's data problem, so they are refused before anything runs,
naming the field and the position, on every backend alike. Messages that advise a command-line
flag are reworded for web clients, who cannot pass one (`for_web`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from propscope.errors import FetchError, WebError

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
WHY = {True: "a lone surrogate, which is not a character (fix the JSON escapes)",
       False: "a NUL character, which cannot be stored"}
ARTICLE_SOURCES = ("text", "html", "url")
# A sentence of advice that only works on the command line: a flag or a `propscope …` command.
CLI_ADVICE = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*|`propscope [^`]*`")
SENTENCE_BREAK = re.compile(r"(?<=[.!?]) (?=[A-Z`])")
WEB_ADVICE = {
    "E013": "Send a shorter text: the size limit is the server operator's setting.",
    "E014": "Send the text as UTF-8.",
    "E021": "This server does not fetch such addresses; that is its operator's setting, and no "
            "request can change it.",
    "E028": "This server does not fetch such addresses; that is its operator's setting, and no "
            "request can change it.",
    "E029": "Try again later: the fetch deadline is the server operator's setting.",
    "E047": "If the text looks wrong, send it as UTF-8.",
    "E201": "The server's operator must fix its list of analysers.",
    "E204": "The server's operator must install or train the model.",
    "E301": "GET /api/documents lists the ids.",
    "E304": "Post the stored text (GET /api/documents/ID), or ask the server's operator to "
            "delete the document.",
}
GENERIC_ADVICE = "Ask the server's operator: the command-line advice does not apply here."


def check_text(where: str, value: str) -> None:
    """Refuse a string holding a lone surrogate or NUL (E619, 422), naming where and at which index."""
    found = UNSTORABLE.search(value)
    if found is None:
        return
    char = found.group()
    message = WebError.E_CHARACTER.format(
        where=where, char=f"U+{ord(char):04X}", position=found.start(), why=WHY[char != "\x00"])
    raise WebError(message, 422)


def check_item(item: Mapping[str, Any], where: str = "") -> None:
    """Check every field of one posted article; a `url` must be http(s), never a server path.

    Args:
        item: the article's fields as posted (text/html/url plus metadata).
        where: a prefix naming the article in a batch ("documents[3].").

    Raises:
        WebError: E619 for a field that cannot be analysed or stored.
        FetchError: E020 for a url that is not http(s) (a bare path would read the server's files).
    """
    for key, value in item.items():
        if isinstance(value, str):
            check_text(f"the field '{where}{key}'", value)
    url = str(item.get("url") or "").strip()
    if url and urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FetchError(FetchError.E_SCHEME.format(url=url))


def check_items(items: Iterable[Mapping[str, Any]]) -> None:
    """`check_item` for every article of a batch, naming each by its index."""
    for index, item in enumerate(items):
        check_item(item, f"documents[{index}].")


def check_batch_alone(given: Mapping[str, Any]) -> None:
    """A batch request holds only `documents`: other fields would be silently dropped (E617)."""
    others = [key for key, value in given.items() if key != "documents" and value is not None]
    if others:
        fields = ", ".join(repr(k) for k in sorted(others))
        raise WebError(WebError.E_BOTH.format(fields=fields), 422)


def for_web(message: str) -> str:
    """The message with command-line advice replaced by advice a web client can follow.

    Later sentences naming a flag or a `propscope` command are dropped; a first sentence that
    names one (it also holds the data) loses the clause from the last ", " or "; " before it.
    """
    first, *rest = SENTENCE_BREAK.split(message)
    kept = [s for s in rest if not CLI_ADVICE.search(s)]
    flag = CLI_ADVICE.search(first)
    if flag is not None:
        cut = max(first.rfind(", ", 0, flag.start()), first.rfind("; ", 0, flag.start()))
        first = first[:cut] + "." if cut > 0 else first
    if flag is None and len(kept) == len(rest):
        return message
    advice = WEB_ADVICE.get(message.split(" ", 1)[0], GENERIC_ADVICE)
    return " ".join([first, *kept, advice])
