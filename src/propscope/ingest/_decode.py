"""Bytes to text: BOM, then UTF-8, then charset-normalizer; binary and empty input refused."""

from __future__ import annotations

import codecs
import re
from typing import Any

from propscope.errors import IngestError
from propscope.ingest._common import fail

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# ASCII control bytes that no text encoding we accept produces (tab, LF, VT, FF, CR and ESC
# are allowed). Random binary is ~10% such bytes; prose is 0%.
_CONTROL = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])
MAX_CONTROL_RATIO = 0.01
# Legacy encodings, roughly in order of use on the web; near-ties between guesses go to the earlier one.
COMMON_ENCODINGS = (
    "cp1252",
    "iso8859_15",
    "latin_1",
    "cp1251",
    "koi8_r",
    "cp1250",
    "iso8859_2",
    "gb18030",
    "shift_jis",
    "euc_jp",
    "big5",
    "euc_kr",
    "cp1256",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1257",
)
# Tolerances for a "near-tie", set on short cp1252/latin-1 news paragraphs where cp1250, cp1257
# and cp775 tie with or beat cp1252 by up to 0.03 coherence.
CHAOS_TOLERANCE = 0.01
COHERENCE_TOLERANCE = 0.05
_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark announces, if any."""
    return next((name for bom, name in BOMS if data.startswith(bom)), None)


def binary_reason(data: bytes) -> str | None:
    """Why the bytes look binary (NUL bytes, control bytes), or None when they look like text."""
    if bom_encoding(data) in ("utf-16", "utf-32"):
        return None
    if b"\x00" in data:
        return "it contains NUL bytes"
    controls = len(data) - len(data.translate(None, _CONTROL))
    if controls > MAX_CONTROL_RATIO * len(data):
        return f"{controls / len(data):.0%} of its bytes are control characters"
    return None


def declared_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in a <meta> tag near its top."""
    match = _DECLARED.search(data[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii", "ignore")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _strict(data: bytes, encoding: str, source: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise fail(IngestError.E_ENCODING, source, reason=f"not valid {encoding}: {exc}") from exc


def _rank(match: Any) -> int:
    names = match.could_be_from_charset or [match.encoding]
    return min((COMMON_ENCODINGS.index(n) for n in names if n in COMMON_ENCODINGS), default=99)


def _guess(data: bytes, source: str) -> str:
    """charset-normalizer's pick, preferring the common web encodings among near-ties.

    Single-byte code pages often tie (cp1250 reads a cp1252 "ï" as "ď" with the same chaos);
    the one the web actually uses is then the better bet.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise fail(IngestError.E_ENCODING, source, reason="not UTF-8 and no encoding fits")
    best = matches[0]
    close = [
        m
        for m in matches
        if m.chaos <= best.chaos + CHAOS_TOLERANCE and m.coherence >= best.coherence - COHERENCE_TOLERANCE
    ]
    return str(min(close, key=_rank))


def decode_bytes(data: bytes, source: str, encoding: str | None = None, hint: str | None = None) -> str:
    """Text from bytes, refusing empty (E010), binary (E012) and undecodable (E014) input.

    Args:
        data: the raw input.
        source: the name used in error messages.
        encoding: the user's --encoding, tried alone when given.
        hint: an encoding the content declares (HTML <meta charset>), tried before guessing.

    Returns:
        The decoded text, without a byte-order mark.
    """
    if not data.strip():
        raise fail(IngestError.E_EMPTY, source)
    if reason := binary_reason(data):
        raise fail(IngestError.E_BINARY, source, reason=reason)
    text = _strict(data, encoding, source) if encoding else _detect(data, source, hint)
    if not text.strip():
        raise fail(IngestError.E_EMPTY, source)
    return text.removeprefix("\ufeff")


def _detect(data: bytes, source: str, hint: str | None) -> str:
    for candidate in (bom_encoding(data), "utf-8", hint):
        if candidate:
            try:
                return data.decode(candidate)
            except (UnicodeDecodeError, LookupError):
                continue
    return _guess(data, source)
