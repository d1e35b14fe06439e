"""The review commands: `propscope import` and `propscope eval agreement`.

Argument parsing and printing only; the work is in `annotation.importing` and `eval.agreement`.
Results go to stdout, failures and the summary to stderr, so `--json` stays machine-readable.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Protocol

import typer

from propscope._terminal import console, json_safe, labelled, printable
from propscope.annotation.importing import Item, import_reviews
from propscope.errors import AnnotationError, PropscopeError
from propscope.store import Store

IMPORT_FORMATS = ("labelstudio", "doccano", "inception")
FORMATS_MODULE = "propscope.annotation.formats"


class Reader(Protocol):
    """One tool's importer, as `annotation.formats.IMPORTERS` holds them."""

    def __call__(self, path: Path, keep_empty: bool = False) -> Iterator[Item]:
        ...



err = console(stderr=True, soft_wrap=True)

Db = Annotated[
    str | None,
    typer.Option("--db", help="Store URL (default: $PROPSCOPE_DB or the SQLite file in the user data dir)."),
]
Annotator = Annotated[
    str | None,
    typer.Option(help="Who reviewed (default: the name the tool recorded, e.g. Label Studio's "
                 "completed_by; required where the file has none)."),
]


def _fail(exc: PropscopeError, code: int = 1) -> typer.Exit:
    err.print(labelled("error", exc), soft_wrap=True)
    return typer.Exit(code)


def _open(db: str | None) -> Store:
    try:
        return Store.open(db)
    except PropscopeError as exc:
        raise _fail(exc) from exc


def importer(fmt: str) -> Reader:
    """The reader of one tool's export (E723 unknown format, E724 readers missing)."""
    try:  # imported late: the readers pull in the tools' libraries (dkpro-cassis, …)
        importers: Mapping[str, Reader] = importlib.import_module(FORMATS_MODULE).IMPORTERS
    except (ImportError, AttributeError) as exc:
        raise AnnotationError(AnnotationError.E_NO_IMPORTERS.format(reason=exc)) from exc
    if fmt not in importers:
        formats = ", ".join(sorted(importers))
        raise AnnotationError(AnnotationError.E_IMPORT_FORMAT.format(format=fmt, formats=formats))
    return importers[fmt]


def import_command(
    file: Annotated[Path, typer.Argument(
        help="The tool's export: Label Studio JSON, doccano JSONL, INCEpTION XMI zip.",
        exists=True, dir_okay=False, readable=True,
    )],
    fmt: Annotated[str, typer.Option("--format", "-f", help=" | ".join(IMPORT_FORMATS))],
    annotator: Annotator = None,
    db: Db = None,
    keep_empty: Annotated[bool, typer.Option(
        "--keep-empty", help="Also import reviews nobody did: doccano records with no spans, "
        "INCEpTION documents still holding exactly the initial (model) spans or not marked finished.",
    )] = False,
) -> None:
    """Import reviewed spans from an annotation tool as human layers (the model's stay as they are)."""
    try:
        read = importer(fmt)
    except AnnotationError as exc:
        raise _fail(exc, 2) from exc
    store = _open(db)
    try:
        report = import_reviews(store, read(file, keep_empty), annotator)
    except PropscopeError as exc:  # the file as a whole cannot be read
        raise _fail(exc) from exc
    finally:
        store.close()
    for failure in report.failures:
        err.print(labelled("failed", failure.message), soft_wrap=True)
    err.print(report.summary())
    raise typer.Exit(report.exit_code)


def agreement_command(
    db: Db = None,
    annotator: Annotated[str | None, typer.Option(help="Only this annotator's layers.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """SI/TC F1 of the model's technique spans against the human layers (SemEval-2020 Task 11)."""
    from propscope.eval.agreement import agreement, format_agreement, store_comparisons

    store = _open(db)
    try:
        compared, skipped = store_comparisons(store, annotator)
    finally:
        store.close()
    for doc_id in skipped:
        err.print(f"skipped {doc_id}: no technique analysis is stored for it")
    if not compared:
        whose = f" of {annotator!r}" if annotator else ""
        message = AnnotationError.E_NO_LAYERS.format(annotator=whose, url=store.url)
        raise _fail(AnnotationError(message))
    report = agreement(compared)
    if as_json:
        text = json_safe(json.dumps(report, ensure_ascii=False, allow_nan=False, indent=2))
    else:
        text = printable(format_agreement(report), multiline=True)
    sys.stdout.write(text + "\n")
