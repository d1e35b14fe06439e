"""Bytes to text: BOM, then UTF-8, then charset-normalizer; binary and empty input refused."""

from __future__ import annotations

import codecs
import re

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


def _guess(data: bytes, source: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise fail(IngestError.E_ENCODING, source, reason="not UTF-8 and no encoding fits")
    return str(best)


def decode_bytes(
    data: bytes, source: str, encoding: str | None = None, hint: str | None = None
) -> str:
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
