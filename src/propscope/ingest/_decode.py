"""Bytes to text: BOM, then UTF-8, then charset-normalizer; binary and empty input refused.

Never silent mojibake: UTF-8 with a few stray bytes stays UTF-8 (the stray bytes replaced, and
a coded warning says how many); a guess that reads mostly-ASCII text as CJK is not taken.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any

from propscope.errors import IngestError
from propscope.ingest._common import fail, strip_control_chars

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
# BOM-less UTF-16 of Latin text has a NUL in nearly every other byte.
SNIFF_SAMPLE = 4096
UTF16_NUL_SHARE = 0.8
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
# Tolerances for a "near-tie", set on short cp1252/latin-1 news paragraphs where cp1250, cp1257,
# cp775 and mac_latin2 tie with or beat cp1252 by up to 0.083 chaos and 0.074 coherence (one
# sentence each of English, French, German, Spanish, Portuguese in cp1252/latin-1, Polish in
# cp1250, Russian in cp1251 and Greek in cp1253 all decode right with these; 0.01/0.05 misread
# the English and French ones as cp1257 and mac_latin2).
CHAOS_TOLERANCE = 0.1
COHERENCE_TOLERANCE = 0.08
_DECLARED = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
# Replaced bytes a decoding may carry before it is refused: a few stray bytes are damage worth
# reading past; more than 1% of the text (and more than a handful) is the wrong encoding.
MAX_REPLACED = 8
MAX_REPLACED_SHARE = 0.01
# Multi-byte (CJK) guesses are taken only when that script is a real share of the letters: for
# mostly-ASCII text with a few bytes undefined in cp1252, charset-normalizer offers gb18030 or
# big5, which turn each byte and the ASCII letter after it into one CJK character.
MULTIBYTE_ENCODINGS = frozenset(
    {"gb18030", "gbk", "gb2312", "hz", "big5", "big5hkscs", "cp950", "shift_jis", "cp932"}
    | {"shift_jisx0213", "euc_jp", "euc_jis_2004", "euc_jisx0213", "euc_kr", "cp949", "johab"}
    | {"iso2022_jp", "iso2022_kr", "utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_7"}
)
MIN_MULTIBYTE_SHARE = 0.3  # Chinese/Japanese news is > 0.8 CJK letters, even with Latin names
FALLBACK_ENCODING = "cp1252"
# Below this share of non-ASCII bytes, text is mostly ASCII: a rare code page is not believed.
SPARSE_HIGH_BYTES = 0.05
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of an invalid byte
# Text control characters (once decoded) that no prose has: as for bytes, tab, LF, VT, FF, CR
# and ESC are allowed.
_TEXT_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


@dataclass(frozen=True)
class Decoded:
    """Decoded text, and the coded warnings (E047) about how it was read."""

    text: str
    warnings: tuple[str, ...] = ()


def bom_encoding(data: bytes) -> str | None:
    """The encoding a byte-order mark announces, if any."""
    return next((name for bom, name in BOMS if data.startswith(bom)), None)


def binary_reason(data: bytes) -> str | None:
    """Why the bytes look binary (NUL bytes, control bytes), or None when they look like text."""
    if bom_encoding(data) in ("utf-16", "utf-32"):
        return None
    if b"\x00" in data:
        return "it contains NUL bytes" + _utf16_advice(data)
    controls = len(data) - len(data.translate(None, _CONTROL))
    if controls > MAX_CONTROL_RATIO * len(data):
        return f"{controls / len(data):.0%} of its bytes are control characters"
    return None


def _utf16_advice(data: bytes) -> str:
    """A hint to name the encoding when the NULs sit every other byte, as in BOM-less UTF-16."""
    sample = data[:SNIFF_SAMPLE]
    for zeros, name in ((sample[1::2], "utf-16-le"), (sample[0::2], "utf-16-be")):
        if zeros and zeros.count(0) >= UTF16_NUL_SHARE * len(zeros):
            return f"; if it is UTF-16 without a byte-order mark, pass --encoding {name}"
    return ""


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


def _guess(data: bytes) -> str | None:
    """charset-normalizer's pick, preferring the common web encodings among near-ties.

    Single-byte code pages often tie (cp1250 reads a cp1252 "ï" as "ď" with the same chaos);
    the one the web actually uses is then the better bet. None when nothing fits, or when the
    pick is not plausible (see `_plausible`).
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        return None
    best = matches[0]
    close = [
        m
        for m in matches
        if m.chaos <= best.chaos + CHAOS_TOLERANCE and m.coherence >= best.coherence - COHERENCE_TOLERANCE
    ]
    guess = str(min(close, key=_rank).encoding)
    return guess if _plausible(data, guess) else None


def _plausible(data: bytes, encoding: str) -> bool:
    """False for a rare code page on mostly-ASCII text, or for CJK from a few bytes.

    A few stray bytes in ASCII text (some undefined in cp1252) fit some code page by chance,
    cp775 or gb18030 say, and would be stored as garbage letters; such text is better read
    as cp1252 with the undefined bytes replaced and a warning.
    """
    high = len(data) - len(data.decode("ascii", "ignore"))
    if encoding not in COMMON_ENCODINGS and high < SPARSE_HIGH_BYTES * len(data):
        return False
    if codecs.lookup(encoding).name.replace("-", "_") not in MULTIBYTE_ENCODINGS:
        return True
    try:
        letters = [ch for ch in data.decode(encoding) if ch.isalpha()]
    except (UnicodeDecodeError, LookupError):
        return False
    wide = sum(not ch.isascii() for ch in letters)
    return bool(letters) and wide >= MIN_MULTIBYTE_SHARE * len(letters)


def decode_bytes(data: bytes, source: str, encoding: str | None = None, hint: str | None = None) -> str:
    """The text of `decode`, for callers that do not keep its warnings."""
    return decode(data, source, encoding, hint).text


def decode(data: bytes, source: str, encoding: str | None = None, hint: str | None = None) -> Decoded:
    """Text from bytes, refusing empty (E010), binary (E012) and undecodable (E014) input.

    Args:
        data: the raw input.
        source: the name used in error messages.
        encoding: the user's --encoding, tried alone when given, before the binary check (so
            BOM-less UTF-16 is read when it is named); the decoded text is then checked.
        hint: an encoding the content declares (HTML <meta charset>), tried before guessing.

    Returns:
        The decoded text, without a byte-order mark or control characters, and an E047
        warning when undecodable bytes were replaced.
    """
    if not data.strip():
        raise fail(IngestError.E_EMPTY, source)
    if encoding:
        decoded = Decoded(_strict(data, encoding, source))
        if reason := text_binary_reason(decoded.text):
            raise fail(IngestError.E_BINARY, source, reason=f"read as {encoding}, {reason}")
    elif reason := binary_reason(data):
        raise fail(IngestError.E_BINARY, source, reason=reason)
    else:
        decoded = _detect(data, source, hint)
    text = strip_control_chars(decoded.text.removeprefix("\ufeff"))
    if not text.strip():
        raise fail(IngestError.E_EMPTY, source)
    return Decoded(text, decoded.warnings)


def text_binary_reason(text: str) -> str | None:
    """Why decoded text looks binary (NUL or control characters), or None for prose."""
    if "\x00" in text:
        return "it contains NUL characters"
    controls = len(_TEXT_CONTROL.findall(text))
    if controls > MAX_CONTROL_RATIO * len(text):
        return f"{controls / len(text):.0%} of its characters are control characters"
    return None


def _detect(data: bytes, source: str, hint: str | None) -> Decoded:
    for candidate in (bom_encoding(data), "utf-8"):
        if candidate:
            try:
                return Decoded(data.decode(candidate))
            except (UnicodeDecodeError, LookupError):
                continue
    if _mostly_utf8(data):  # before the declared charset: servers often declare latin-1 by default
        return _replacing(data, "utf-8", source)
    if hint:
        try:
            return Decoded(data.decode(hint))
        except (UnicodeDecodeError, LookupError):
            pass
    guess = _guess(data)
    if guess is not None:
        return Decoded(data.decode(guess))
    return _replacing(data, FALLBACK_ENCODING, source)


def _mostly_utf8(data: bytes) -> bool:
    """True for UTF-8 with stray bytes: it has more valid multi-byte sequences than bad bytes.

    Text in a legacy code page almost never forms a valid UTF-8 sequence by chance, so its
    accented letters all count as bad; UTF-8 damaged by a few stray bytes keeps its good ones.
    """
    text = data.decode("utf-8", "surrogateescape")
    bad = len(_ESCAPED_BYTE.findall(text))
    return len(text) - len(text.encode("ascii", "ignore")) - bad >= bad > 0


def _replacing(data: bytes, encoding: str, source: str) -> Decoded:
    """`data` read as `encoding` with each undecodable byte replaced, and the E047 warning.

    Refused (E014) when more than a few bytes, and more than 1% of the text, would be lost.
    """
    escaped = data.decode(encoding, "surrogateescape")
    count = len(_ESCAPED_BYTE.findall(escaped))
    if count > max(MAX_REPLACED, MAX_REPLACED_SHARE * len(escaped)):
        reason = f"{count:,} bytes are not valid {encoding} and no other encoding fits"
        raise fail(IngestError.E_ENCODING, source, reason=reason)
    text = _ESCAPED_BYTE.sub("\ufffd", escaped)
    if not count:
        return Decoded(text)
    warning = fail(
        IngestError.E_REPLACED, source, encoding=encoding, count=count, s="" if count == 1 else "s"
    )
    return Decoded(text, (str(warning),))
