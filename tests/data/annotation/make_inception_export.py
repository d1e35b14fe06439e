"""Writes inception_project_export.zip: INCEpTION's project-export layout, written from its
documented format with dkpro-cassis, NOT by INCEpTION (no INCEpTION export ships in a registry
package; INCEpTION is a Java server). Not run by the tests.

Layout, as INCEpTION's project export lays it out (what is unverified is said in README.md):
    exportedproject.json                      project settings (only the fields the layout needs)
    source/DOCUMENT                           the uploaded file: propscope's own export XMI
    annotation/DOCUMENT/INITIAL_CAS.zip       the document as uploaded (nobody's review)
    annotation/DOCUMENT/alice.zip             alice's annotations: DOCUMENT.xmi + typesystem.xml
    curation/DOCUMENT/CURATION_USER.zip       the curated result
The XMI holds DKPro Core Sentence and Token annotations (INCEpTION segments every document) and
the `webanno.custom.*` layers with their `label` feature, offsets in UTF-16 units as UIMA writes
them; the text has an emoji, so code points and UTF-16 units differ after it.

    python tests/data/annotation/make_inception_export.py
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import cassis

from propscope.annotation import inception
from propscope.document import Document, Result
from propscope.document import document_id as make_id

HERE = Path(__file__).parent
TEXT = "Crowds 🙂 gathered.\r\nThe mayor calls protesters traitors and thugs.\r\nTrade fell 40% last year."
SENTENCE = "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Sentence"
TOKEN = "de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Token"

# (layer, text, label): what each side holds.
INITIAL = [("technique", "traitors", "Loaded_Language"), ("claim", "Trade fell 40% last year.", "claim")]
ALICE = [
    ("technique", "traitors and thugs", "Name_Calling,Labeling"),  # widened and relabelled
    ("actor", "protesters", "blamed"),  # added
    ("claim", "Trade fell 40% last year.", "claim"),  # kept
]
CURATED = [("technique", "traitors and thugs", "Name_Calling,Labeling"), ("actor", "protesters", "blamed")]


def type_system() -> cassis.TypeSystem:
    return cassis.merge_typesystems(cassis.load_dkpro_core_typesystem(), inception.type_system())


def cas_xmi(ts: cassis.TypeSystem, name: str, spans: list[tuple[str, str, str]]) -> str:
    cas = cassis.Cas(typesystem=ts)
    cas.sofa_string = TEXT
    cas.sofa_mime = "text"
    meta = ts.get_type(inception.DOCUMENT_METADATA)
    cas.add(
        meta(begin=0, end=len(TEXT), language="en", documentTitle=name, documentId=name, isLastSegment=False)
    )
    for match in re.finditer(r"[^\r\n]+", TEXT):
        cas.add(ts.get_type(SENTENCE)(begin=match.start(), end=match.end()))
    for match in re.finditer(r"\w+|[^\w\s]", TEXT):
        cas.add(ts.get_type(TOKEN)(begin=match.start(), end=match.end()))
    for layer, part, label in spans:
        start = TEXT.index(part)
        layer_type = ts.get_type(inception.LAYER_TYPES[layer])
        cas.add(layer_type(begin=start, end=start + len(part), label=label))
    return str(cas.to_xmi())


def user_zip(ts: cassis.TypeSystem, name: str, spans: list[tuple[str, str, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, cas_xmi(ts, name, spans))
        archive.writestr("typesystem.xml", str(ts.to_xml()))
    return buffer.getvalue()


def main() -> None:
    ts = type_system()
    doc_id = make_id(TEXT)
    name = f"{doc_id}.xmi"
    uploaded = inception.document_xmi(Result(Document(text=TEXT, title="Harbour")), inception.type_system())
    project = {"name": "propscope-review", "source_documents": [{"name": name, "format": "xmi"}]}
    with zipfile.ZipFile(HERE / "inception_project_export.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("exportedproject.json", json.dumps(project, indent=2))
        archive.writestr(f"source/{name}", uploaded)
        archive.writestr(f"annotation/{name}/INITIAL_CAS.zip", user_zip(ts, name, INITIAL))
        archive.writestr(f"annotation/{name}/alice.zip", user_zip(ts, name, ALICE))
        archive.writestr(f"curation/{name}/CURATION_USER.zip", user_zip(ts, name, CURATED))
    print(HERE / "inception_project_export.zip", doc_id)


if __name__ == "__main__":
    main()
