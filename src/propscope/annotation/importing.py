"""Importing reviews: each tool record matched to a stored document, checked, kept as a human layer.

One bad record never sinks the others (as with `propscope ingest`): a record that cannot be read,
matched or checked becomes a `Failure` naming it, and every other record is still stored. A
document is found by the id propscope exported, else by the SHA-256 of its text, else by the
id its text hashes to; the offsets are then checked against the stored text, never shifted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from propscope.annotation._common import text_sha256 as text_sha256  # re-exported: tests hash with it
from propscope.annotation.records import ReviewedDocument
from propscope.api import Failure
from propscope.document import document_id
from propscope.errors import AnnotationError, PropscopeError
from propscope.store import Store
from propscope.store.human import AddedLayer
from propscope.store.schema import NAME_LENGTH

Item = ReviewedDocument | AnnotationError


@dataclass
class ImportReport:
    """What an import did: layers added, reviews already stored, records that failed."""

    added: list[AddedLayer] = field(default_factory=list)
    unchanged: list[AddedLayer] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when some record failed (the others were stored), else 0, as for `ingest`."""
        return 1 if self.failures else 0

    def summary(self) -> str:
        return (f"{len(self.added)} layers added, {len(self.unchanged)} unchanged, "
                f"{len(self.failures)} failed")


def import_reviews(store: Store, items: Iterable[Item], annotator: str | None = None) -> ImportReport:
    """Store every review of `items` as a human layer, reporting the records that fail.

    Args:
        store: the store holding the reviewed documents.
        items: an importer's output (`propscope.annotation.formats.IMPORTERS[fmt](path)`): one
            review per record, or the AnnotationError that record raised.
        annotator: who reviewed; overrides the name the tool recorded (E721 when neither).

    Returns:
        The report; `exit_code` is 1 if any record failed.
    """
    report = ImportReport()
    finder = DocumentFinder(store)
    for item in items:
        try:
            if isinstance(item, AnnotationError):
                raise item
            added = _import_one(store, finder, item, annotator)
        except PropscopeError as exc:
            report.failures.append(_failure(exc, item))
        except Exception as exc:  # a bug must cost one record, not the import (E726)
            message = AnnotationError.E_UNEXPECTED.format(source=_source(item), reason=repr(exc))
            report.failures.append(_failure(AnnotationError(message), item))
        else:
            (report.added if added.added else report.unchanged).append(added)
    return report


def _import_one(store: Store, finder: DocumentFinder, review: ReviewedDocument,
                annotator: str | None) -> AddedLayer:
    source = review.source or "record"
    name = checked_annotator(annotator or review.annotator, source)
    doc_id = finder.find(review)
    return store.add_human_layer(replace(review, document_id=doc_id, annotator=name), name)


def checked_annotator(name: str | None, source: str) -> str:
    """The annotator's name, stripped (E721 when there is none, E722 when it is not usable)."""
    if name is None or not name.strip():
        raise AnnotationError(AnnotationError.E_NO_ANNOTATOR.format(source=source))
    name = name.strip()
    reason = ""
    if len(name) > NAME_LENGTH:
        reason = f"longer than {NAME_LENGTH} characters"
    elif not name.isprintable():
        reason = "it holds control characters"
    if reason:
        raise AnnotationError(AnnotationError.E_ANNOTATOR.format(source=source, name=name[:40],
                                                                 reason=reason))
    return name


class DocumentFinder:
    """Finds the stored document a review is about (E715 when none is)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._by_sha256: dict[str, str] | None = None  # built on first need: it reads every text

    def find(self, review: ReviewedDocument) -> str:
        """The stored id: the exported id, else by text SHA-256, else the id the text hashes to
        (each tried only when the one before finds nothing)."""
        for candidate in self._candidates(review):
            if candidate and self._store.has_document(candidate):
                return candidate
        source = review.source or "record"
        raise AnnotationError(AnnotationError.E_UNKNOWN_DOCUMENT.format(source=source, key=_key(review)))

    def _candidates(self, review: ReviewedDocument) -> Iterator[str | None]:
        yield review.document_id
        if review.text_sha256:
            yield self._sha256_index().get(review.text_sha256.strip().lower())
        if review.text is not None:
            yield document_id(review.text)

    def _sha256_index(self) -> dict[str, str]:
        if self._by_sha256 is None:
            self._by_sha256 = self._store.text_sha256_index()
        return self._by_sha256


def _key(review: ReviewedDocument) -> str:
    parts = []
    if review.document_id:
        parts.append(f"document id {review.document_id!r}")
    if review.text_sha256:
        parts.append(f"text sha256 {review.text_sha256[:16]}…")
    if review.text is not None:
        parts.append(f"text of {len(review.text):,} characters, id {document_id(review.text)}")
    return ", ".join(parts) or "it gives no document id, text hash or text"


def _source(item: Item) -> str:
    if isinstance(item, ReviewedDocument):
        return item.source or "record"
    return item.source or "record"


def _failure(exc: PropscopeError, item: Item) -> Failure:
    message = str(exc)
    code = message.split(" ", 1)[0] if message.startswith("E") else exc.code
    return Failure(_source(item), code, message)
