"""Reading the tools' zip exports with bounds: an export comes from elsewhere and may be hostile.

Only the entries an importer will use are read, each in chunks so that an entry whose header
understates its size still cannot pass the cap; the entry count, each entry's unpacked size and
the total unpacked size (nested zips included) are capped (E711-E713). A zip that cannot be
unpacked at all (broken, encrypted, an unknown compression method) is E700 naming the file.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from propscope.annotation import _common as common
from propscope.errors import AnnotationError

MAX_ENTRY_BYTES = 64 * 2**20  # one XMI or JSONL file unpacked
MAX_TOTAL_BYTES = 512 * 2**20  # every entry read from one export, nested zips included
MAX_ENTRIES = 10_000  # entries in one export, nested zips included
_CHUNK = 2**20

# What zipfile raises on a zip it cannot unpack: broken headers or data, a truncated stream,
# an encrypted entry (RuntimeError), a compression method it lacks (NotImplementedError).
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError,
)

Wanted = Callable[[str], bool]


@dataclass
class Budget:
    """What one export has used so far, shared by the zips nested in it."""

    entries: int = 0
    total: int = 0


def is_zip(raw: bytes) -> bool:
    """Whether the bytes are a zip (checked without unpacking anything)."""
    return zipfile.is_zipfile(io.BytesIO(raw))


def entries(
    path: Path, raw: bytes, wanted: Wanted, tool: str, hint: str, prefix: str = "",
    budget: Budget | None = None,
) -> list[tuple[str, bytes]]:
    """(name, bytes) of the entries of the zip `raw` whose name (prefixed) `wanted` accepts.

    Raises E700 for a zip that cannot be unpacked, E711-E713 past a cap, each naming the file.
    """
    budget = budget or Budget()
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            return _read_all(path, archive, wanted, prefix, budget)
    except ZIP_ERRORS as exc:
        where = f"{prefix} is" if prefix else "it is"
        reason = f"{where} a broken or unsupported zip ({type(exc).__name__}: {exc})"
        raise common.unreadable(path, tool, reason, hint) from exc


def _read_all(
    path: Path, archive: zipfile.ZipFile, wanted: Wanted, prefix: str, budget: Budget
) -> list[tuple[str, bytes]]:
    found = []
    for info in archive.infolist():
        name = f"{prefix}/{info.filename}" if prefix else info.filename
        budget.entries += 1
        if budget.entries > MAX_ENTRIES:
            raise _capped(AnnotationError.E_ZIP_ENTRIES, path, name, MAX_ENTRIES)
        if not info.is_dir() and wanted(name):
            found.append((name, _read(path, archive, info, name, budget)))
    return found


def _read(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, budget: Budget) -> bytes:
    """One entry, chunk by chunk, stopping as soon as a cap is passed (whatever the header says)."""
    if info.file_size > MAX_ENTRY_BYTES:
        raise _capped(AnnotationError.E_ZIP_ENTRY, path, name, MAX_ENTRY_BYTES)
    parts = []
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            budget.total += len(chunk)
            if size > MAX_ENTRY_BYTES:
                raise _capped(AnnotationError.E_ZIP_ENTRY, path, name, MAX_ENTRY_BYTES)
            if budget.total > MAX_TOTAL_BYTES:
                raise _capped(AnnotationError.E_ZIP_TOTAL, path, name, MAX_TOTAL_BYTES)
            parts.append(chunk)
    return b"".join(parts)


def _capped(template: str, path: Path, entry: str, limit: int) -> AnnotationError:
    return AnnotationError(template.format(path=path, entry=entry, limit=limit), str(path))
