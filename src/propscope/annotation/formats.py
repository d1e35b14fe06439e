"""The annotation tools' formats by name: what `propscope export --format` writes and what
`propscope import --format` reads.

`EXPORTERS[name](results)` gives the bytes of one export file. `IMPORTERS[name](path)` yields
one item per record of a tool's export: a `ReviewedDocument`, or an `AnnotationError` naming the
file and the record when that record is bad (reading goes on); it raises AnnotationError E700
when the file cannot be read at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from propscope.annotation import displacy, doccano, inception, labelstudio
from propscope.annotation.records import ReviewedDocument
from propscope.document import Result
from propscope.errors import AnnotationError

Exporter = Callable[[Iterable[Result]], bytes]


class Importer(Protocol):
    """A tool's reader: `keep_empty` keeps the reviews nobody did (untouched pre-annotations)."""

    def __call__(self, path: Path, keep_empty: bool = False) -> Iterator[ReviewedDocument | AnnotationError]:
        ...



EXPORTERS: dict[str, Exporter] = {
    "labelstudio": labelstudio.export_tasks,
    "doccano": doccano.export_jsonl,
    "inception": inception.export_zip,
    "displacy": displacy.export_json,
}

IMPORTERS: dict[str, Importer] = {
    "labelstudio": labelstudio.read_export,
    "doccano": doccano.read_export,
    "inception": inception.read_export,
}

# Exports that are not text: they need --out (E710).
BINARY = {"inception": "zip"}


def sidecars(name: str, out: Path) -> dict[Path, bytes]:
    """Files written beside an export at `out`: Label Studio's labelling config as
    `STEM.config.xml` (tasks.json -> tasks.config.xml), which its project needs before the tasks."""
    if name == "labelstudio":
        return {out.with_suffix(".config.xml"): labelstudio.label_config().encode("utf-8")}
    return {}


def exporter(name: str) -> Exporter:
    """The exporter of a format, or E702 listing the known ones."""
    if name not in EXPORTERS:
        raise AnnotationError(AnnotationError.E_FORMAT.format(name=name, formats=", ".join(EXPORTERS)))
    return EXPORTERS[name]


def importer(name: str) -> Importer:
    """The importer of a format, or E702 listing the known ones."""
    if name not in IMPORTERS:
        raise AnnotationError(AnnotationError.E_FORMAT.format(name=name, formats=", ".join(IMPORTERS)))
    return IMPORTERS[name]
