"""INCEpTION: UIMA CAS XMI through dkpro-cassis, and reading INCEpTION's XMI export back.

Export: a zip of `TypeSystem.xml` and one `DOCUMENT_ID.xmi` per document. Each CAS holds the
text as its sofa, a DKPro Core `DocumentMetaData` (INCEpTION reads the document's title and id
from it), DKPro Core `Sentence` and `Token` annotations, and one annotation per model span in
three custom span layers, named as INCEpTION names layers made in its project settings:
`webanno.custom.Technique`, `webanno.custom.Claim` and `webanno.custom.Actor`, each with a
string feature `label` (the technique name, `claim`, the actor's role); techniques and claims
add the calibrated `score` (uima.cas.Float), actors the canonical `actor` name.

Offsets: cassis holds code points in Python and writes UTF-16 units into the XMI, as UIMA and
INCEpTION (Java) count them, so a text with emoji keeps its spans on both sides.

Import: INCEpTION's project export (a zip with `annotation/DOCUMENT/USER.xmi`, curation under
`curation/`, the type system beside each XMI), a folder of it unpacked, a zip of XMI files
like ours, or XMI files zipped one level deeper (INCEpTION's per-document export).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import cassis

from propscope.annotation import _common as common
from propscope.annotation import _zip
from propscope.annotation.records import ReviewedDocument, ReviewedSpan
from propscope.document import Result
from propscope.errors import AnnotationError

TOOL = "INCEpTION"
TYPE_SYSTEM_FILE = "TypeSystem.xml"
_TS_LOWER = TYPE_SYSTEM_FILE.lower()  # found whatever its case (INCEpTION writes "TypeSystem.xml")
DOCUMENT_METADATA = "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.DocumentMetaData"
DOCUMENT_ANNOTATION = "uima.tcas.DocumentAnnotation"
SENTENCE = "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Sentence"
TOKEN = "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Token"
LAYER_TYPES = {
    "technique": "webanno.custom.Technique",
    "claim": "webanno.custom.Claim",
    "actor": "webanno.custom.Actor",
}
INITIAL_CAS = "INITIAL_CAS"  # INCEpTION's copy of the document as uploaded: nobody's review
CURATION_USER = "CURATION_USER"
SOURCE_FOLDER = "source"  # a project export's uploaded files
ANNOTATION_FOLDER = "annotation"  # a project export's annotation/DOCUMENT/USER files
CURATION = "curation"  # the annotator name a curated document is imported under
_OUR_ID = re.compile(r"^[0-9a-f]{20}$")  # propscope.document.document_id
# Characters XML 1.0 cannot carry, even escaped (https://www.w3.org/TR/xml/#charsets).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_STRING = "uima.cas.String"
# INCEpTION shows a document sentence by sentence and anchors spans to tokens, so the CAS
# carries both, as a CAS INCEpTION segmented itself would: lines cut after . ! ? and words.
_SENTENCE = re.compile(r"[^\s](?:[^\n]*?(?:[.!?](?=\s)|(?=\r?\n)|$))", re.MULTILINE)
_TOKEN = re.compile(r"\w+|[^\w\s]")
_HINT = "Export the INCEpTION project (or the documents) in the UIMA CAS XMI format."
_MAX_DEPTH = 2  # zips inside zips followed: the project export, then a per-document zip
PROJECT_FILE = "exportedproject.json"  # a project export's settings and document states
_STATE_KEYS = ("name", "user", "state")
_FINISHED = "FINISHED"  # the state of an annotation document its user marked done


def type_system() -> cassis.TypeSystem:
    """The type system of our layers plus DKPro Core's DocumentMetaData."""
    ts = cassis.TypeSystem()
    meta = ts.create_type(DOCUMENT_METADATA, supertypeName=DOCUMENT_ANNOTATION)
    for name in ("documentTitle", "documentId", "documentUri", "documentBaseUri", "collectionId"):
        ts.create_feature(meta, name, _STRING)
    ts.create_feature(meta, "isLastSegment", "uima.cas.Boolean")
    ts.create_type(SENTENCE)
    ts.create_type(TOKEN)
    for layer, type_name in LAYER_TYPES.items():
        layer_type = ts.create_type(type_name, description=f"propscope {layer} spans")
        ts.create_feature(layer_type, "label", _STRING)
        if layer == "actor":
            ts.create_feature(layer_type, "actor", _STRING)
        else:
            ts.create_feature(layer_type, "score", "uima.cas.Float")
    return ts


def export_zip(results: Iterable[Result]) -> bytes:
    """A zip of TypeSystem.xml and one XMI per document. Raises E709 for a text XML cannot hold."""
    ts = type_system()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(TYPE_SYSTEM_FILE, str(ts.to_xml()))
        for result in results:
            archive.writestr(f"{result.document.id}.xmi", document_xmi(result, ts))
    return buffer.getvalue()


def document_xmi(result: Result, ts: cassis.TypeSystem) -> str:
    """One document as XMI: text, DocumentMetaData and the model's spans."""
    doc = result.document
    _check_xml(doc.id, doc.text)
    cas = cassis.Cas(typesystem=ts)
    cas.sofa_string = doc.text
    cas.sofa_mime = "text/plain"
    title = doc.title if doc.title and not _NOT_XML.search(doc.title) else doc.id
    meta = ts.get_type(DOCUMENT_METADATA)
    cas.add(
        meta(
            begin=0,
            end=len(doc.text),
            language=doc.language or "x-unspecified",
            documentTitle=title,
            documentId=doc.id,
            collectionId="propscope",
            isLastSegment=False,
        )
    )
    for pattern, type_name in ((_SENTENCE, SENTENCE), (_TOKEN, TOKEN)):
        segment = ts.get_type(type_name)
        cas.add_all([segment(begin=m.start(), end=m.end()) for m in pattern.finditer(doc.text)])
    for span in common.model_spans(result):
        cas.add(_annotation(ts, span))
    return str(cas.to_xmi())


def _annotation(ts: cassis.TypeSystem, span: common.ModelSpan) -> Any:
    features: dict[str, Any] = {"begin": span.start, "end": span.end, "label": span.label}
    if span.layer == "actor":
        features["actor"] = span.note
    elif span.score is not None:
        features["score"] = round(span.score, 4)
    return ts.get_type(LAYER_TYPES[span.layer])(**features)


def _check_xml(document: str, text: str) -> None:
    found = _NOT_XML.search(text)
    if found:
        char = ascii(found.group())[1:-1]
        message = AnnotationError.E_XML_TEXT.format(document=document, char=char, position=found.start())
        raise AnnotationError(message, document)


# ------------------------------------------------------------------------------ import


def read_export(path: Path, keep_empty: bool = False) -> Iterator[ReviewedDocument | AnnotationError]:
    """Every XMI of an INCEpTION export (zip or folder) as a review; INITIAL_CAS files are the
    uploaded documents, not reviews, and give nothing (so do the files under source/).

    INCEpTION makes a user's CAS from the INITIAL_CAS when they open a document, so a CAS that
    still holds exactly the INITIAL_CAS's spans is a review nobody did (our model's spans), and
    so is a document the project file (exportedproject.json) lists for that user in a state
    other than FINISHED: both are skipped unless `keep_empty`. Raises E700 when nothing can be read.
    """
    entries = _folder_entries(path) if path.is_dir() else _zip_entries(path)
    type_systems = {name: raw for name, raw in entries if PurePosixPath(name).name.lower() == _TS_LOWER}
    documents = [(name, raw) for name, raw in entries if name.lower().endswith(".xmi")]
    if not documents:
        raise common.unreadable(path, TOOL, "no .xmi file in it", _HINT)
    states = {} if keep_empty else _states(entries)
    loaded: dict[str, cassis.TypeSystem] = {}
    initials = _Initials(path, documents, type_systems, loaded)
    for name, raw in documents:
        if _not_a_review(name) or _unfinished(name, states):
            continue
        source = f"{path}:{name}"
        try:
            ts = _type_system_for(name, type_systems, loaded, source)
            review = _review(name, _load_cas(raw, ts, source), source)
        except AnnotationError as exc:
            yield exc
            continue
        if keep_empty or review.spans != initials.spans(name):
            yield review


class _Initials:
    """The INITIAL_CAS spans of each document of a project export, read when first asked for."""

    def __init__(
        self, path: Path, documents: list[tuple[str, bytes]], type_systems: dict[str, bytes],
        loaded: dict[str, cassis.TypeSystem],
    ) -> None:
        self._path = path
        self._type_systems = type_systems
        self._loaded = loaded
        self._raw = {doc: (name, raw) for name, raw in documents
                     if (doc := _document_of(name)) and PurePosixPath(name).stem == INITIAL_CAS}
        self._spans: dict[str, tuple[ReviewedSpan, ...] | None] = {}

    def spans(self, name: str) -> tuple[ReviewedSpan, ...] | None:
        """The INITIAL_CAS spans of the document `name` belongs to; None when there is none or
        it cannot be read (then nothing is skipped)."""
        doc = _document_of(name)
        if doc is None or doc not in self._raw:
            return None
        if doc not in self._spans:
            initial, raw = self._raw[doc]
            source = f"{self._path}:{initial}"
            try:
                ts = _type_system_for(initial, self._type_systems, self._loaded, source)
                self._spans[doc] = _review(initial, _load_cas(raw, ts, source), source).spans
            except AnnotationError:
                self._spans[doc] = None
        return self._spans[doc]


def _document_of(name: str) -> str | None:
    """DOCUMENT of annotation/DOCUMENT/... and curation/DOCUMENT/... in a project export."""
    parts = PurePosixPath(name).parts
    lower = [part.lower() for part in parts]
    for folder in (ANNOTATION_FOLDER, CURATION):
        if folder in lower[:-1]:
            return parts[lower.index(folder) + 1]
    return None


def _states(entries: list[tuple[str, bytes]]) -> dict[tuple[str, str], str]:
    """(document, user) -> the state INCEpTION's project file gives that user's document
    (`annotation_documents`: name, user, state), upper case; {} when the export has none."""
    raw = next((raw for name, raw in entries if PurePosixPath(name).name.lower() == PROJECT_FILE), None)
    try:
        data = json.loads(raw.decode("utf-8-sig")) if raw is not None else {}
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}  # the project file is a help here, not needed: the INITIAL_CAS check remains
    items = data.get("annotation_documents") if isinstance(data, dict) else None
    states = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and all(isinstance(item.get(key), str) for key in _STATE_KEYS):
            states[(item["name"], item["user"])] = item["state"].upper()
    return states


def _unfinished(name: str, states: dict[tuple[str, str], str]) -> bool:
    """Whether the project file lists this user's document in a state other than FINISHED."""
    doc, user = _document_of(name), _annotator(name)
    if doc is None or user is None or (doc, user) not in states:
        return False
    return states[(doc, user)] != _FINISHED


def _not_a_review(name: str) -> bool:
    """INCEpTION's INITIAL_CAS and the uploaded files under source/ hold no one's review (our own
    export's spans, if the upload was one): importing them would pass the model off as a person."""
    parts = PurePosixPath(name).parts
    return any(PurePosixPath(part).stem == INITIAL_CAS for part in parts) or SOURCE_FOLDER in (
        part.lower() for part in parts[:-1]
    )


def _wanted(name: str) -> bool:
    """The entries an import reads: XMI files, type systems, the project file, nested zips;
    never the uploaded files under source/ (they are nobody's review)."""
    lower = name.lower()
    parts = PurePosixPath(lower).parts
    if SOURCE_FOLDER in parts[:-1]:
        return False
    return lower.endswith((".xmi", ".zip")) or parts[-1] in (_TS_LOWER, PROJECT_FILE)


def _folder_entries(path: Path) -> list[tuple[str, bytes]]:
    entries = []
    budget = _zip.Budget()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        name = file.relative_to(path).as_posix()
        if not _wanted(name):
            continue
        raw = common.read_file(file, TOOL, _HINT)
        nested = name.lower().endswith(".zip")
        entries.extend(_unzipped(path, name, raw, 1, budget) if nested else [(name, raw)])
    return entries


def _zip_entries(path: Path) -> list[tuple[str, bytes]]:
    raw = common.read_file(path, TOOL, _HINT)
    if not _zip.is_zip(raw):
        if path.suffix.lower() == ".xmi":  # a lone XMI: its type system must lie beside it
            beside = path.with_name(TYPE_SYSTEM_FILE)
            extra = [(TYPE_SYSTEM_FILE, common.read_file(beside, TOOL, _HINT))] if beside.is_file() else []
            return [(path.name, raw), *extra]
        raise common.unreadable(path, TOOL, "neither a zip nor an .xmi file", _HINT)
    return _unzipped(path, "", raw, 0, _zip.Budget())


def _unzipped(
    path: Path, prefix: str, raw: bytes, depth: int, budget: _zip.Budget
) -> list[tuple[str, bytes]]:
    """(name, bytes) of the entries an import uses, nested zips opened in place (their name a
    folder) down to _MAX_DEPTH; caps and broken zips as in `_zip.entries`."""
    entries: list[tuple[str, bytes]] = []
    deepest = depth >= _MAX_DEPTH  # zips this deep are not opened, so not read either

    def wanted(name: str) -> bool:
        return _wanted(name) and not (deepest and name.lower().endswith(".zip"))

    for name, data in _zip.entries(path, raw, wanted, TOOL, _HINT, prefix, budget):
        if not name.lower().endswith(".zip"):
            entries.append((name, data))
        elif depth < _MAX_DEPTH:
            entries.extend(_unzipped(path, name, data, depth + 1, budget))
    return entries


def _type_system_for(
    name: str, found: dict[str, bytes], loaded: dict[str, cassis.TypeSystem], source: str
) -> cassis.TypeSystem:
    """The type system nearest the XMI: in its folder, else in the closest folder above it."""
    folders = [str(parent) for parent in PurePosixPath(name).parents]
    for folder in folders:
        for candidate in sorted(found):
            if str(PurePosixPath(candidate).parent) == folder:
                if candidate not in loaded:
                    loaded[candidate] = _load_type_system(found[candidate], f"{source} ({candidate})")
                return loaded[candidate]
    raise common.record_error(AnnotationError.E_TYPE_SYSTEM, source)


def _load_type_system(raw: bytes, source: str) -> cassis.TypeSystem:
    try:
        return cassis.load_typesystem(io.BytesIO(raw))
    except Exception as exc:  # cassis raises lxml, ValueError and its own errors alike
        raise _bad(source, f"the type system cannot be read ({type(exc).__name__}: {exc})") from exc


def _load_cas(raw: bytes, ts: cassis.TypeSystem, source: str) -> Any:
    try:
        return cassis.load_cas_from_xmi(io.BytesIO(raw), typesystem=ts, lenient=True)
    except Exception as exc:  # as above: malformed XML, unknown types, bad offsets
        raise _bad(source, f"not a readable XMI ({type(exc).__name__}: {exc})") from exc


def _review(name: str, cas: Any, source: str) -> ReviewedDocument:
    text = cas.sofa_string
    if not isinstance(text, str):
        raise common.record_error(AnnotationError.E_NO_TEXT, source, field="the sofa string")
    spans = [span for layer in common.LABELS for span in _layer_spans(cas, layer, text, source)]
    document_id = _document_id(cas, name)
    return ReviewedDocument(
        spans=common.unique_spans(spans),
        document_id=document_id,
        text_sha256=common.text_sha256(text),
        text=text,
        annotator=_annotator(name),
        source_format="inception",
        source=source,
        meta=common.stringify({"file": name}),
    )


def _layer_spans(cas: Any, layer: str, text: str, source: str) -> list[ReviewedSpan]:
    """Spans of one layer: every annotation of a type named like the layer (any namespace, so a
    layer made by hand in INCEpTION as "Technique" counts), its `label` feature the label."""
    spans = []
    for type_name in _types_named(cas.typesystem, layer):
        for annotation in cas.select(type_name):
            label = _feature(annotation, "label") or (common.CLAIM_LABEL if layer == "claim" else "")
            where = f"{source}, {type_name.rsplit('.', 1)[-1]} {annotation.begin}-{annotation.end}"
            spans.append(common.reviewed_span(where, text, (annotation.begin, annotation.end), layer, label))
    return spans


def _types_named(ts: cassis.TypeSystem, layer: str) -> Sequence[str]:
    return sorted(t.name for t in ts.get_types() if t.name.rsplit(".", 1)[-1].lower() == layer)


def _feature(annotation: Any, name: str) -> str:
    try:
        value = annotation.get(name)
    except (AttributeError, KeyError, TypeError):
        return ""
    return value if isinstance(value, str) else ""


def _document_id(cas: Any, name: str) -> str | None:
    """Our id, where INCEpTION kept it: DocumentMetaData.documentId, else the document's name
    (the folder in a project export, `DOCUMENT_ID.xmi` as we named it)."""
    candidates = []
    for meta in cas.select(DOCUMENT_METADATA) if cas.typesystem.contains_type(DOCUMENT_METADATA) else []:
        candidates.append(PurePosixPath(_feature(meta, "documentId")).stem)  # INCEpTION: the name
    parts = PurePosixPath(name).parts
    candidates += [PurePosixPath(part).stem for part in reversed(parts)]
    return next((c for c in candidates if _OUR_ID.match(c)), None)


def _annotator(name: str) -> str | None:
    """USER of annotation/DOCUMENT/USER.xmi (or USER.zip/...); `curation` under curation/;
    None for a flat zip of XMI files, which names nobody (the import's --annotator does)."""
    parts = [part.lower() for part in PurePosixPath(name).parts]
    if CURATION in parts[:-1]:
        return CURATION
    if ANNOTATION_FOLDER in parts[:-1]:
        index = parts.index(ANNOTATION_FOLDER) + 2
        if index < len(parts):
            return PurePosixPath(PurePosixPath(name).parts[index]).stem
    return None


def _bad(source: str, reason: str) -> AnnotationError:
    hint = "Export it from INCEpTION again in the UIMA CAS XMI format."
    return common.record_error(AnnotationError.E_RECORD, source, reason=reason, hint=hint)
