"""Writes doccano_export.zip with doccano 1.8.4's own export code (not run by the tests).

doccano exports through Django: `data_export/celery_tasks.py` builds a pandas DataFrame from the
database rows (`pipeline/dataset.py`), runs the sequence-labelling formatters on it
(`pipeline/formatters.py`: TupledSpanFormatter, ListedCategoryFormatter, RenameFormatter, as
`pipeline/factories.py` picks them) and writes one JSONL per member with `JsonlWriter`
(`pipeline/writers.py`, pandas `to_json(orient="records", lines=True, force_ascii=False)`), zipped
by `shutil.make_archive`. This script runs those two modules unchanged from the doccano 1.8.4
sdist and stands in only for the database: the rows are plain objects with the same
`to_tuple()` / `to_string()` the ORM models have (data_export/models.py).

    pip download --no-deps --no-binary doccano doccano==1.8.4 -d DL && tar xzf DL/doccano-1.8.4.tar.gz -C DL
    python tests/data/annotation/make_doccano_export.py DL/doccano-1.8.4/backend
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from propscope.annotation._common import text_sha256
from propscope.document import document_id

HERE = Path(__file__).parent
TEXTS = (
    "Officials/critics clash 😀 as the mayor calls protesters traitors.\nThe port lost 40% of its trade.",
    "Every true patriot will back the plan. The minister said the budget doubled.",
)


@dataclass
class Span:  # data_export.models.ExportedSpan without Django
    start_offset: int
    end_offset: int
    label: str

    def to_tuple(self) -> tuple[int, int, str]:
        return self.start_offset, self.end_offset, self.label


@dataclass
class Comment:  # data_export.models.ExportedComment
    text: str

    def to_string(self) -> str:
        return self.text


def load(backend: Path, name: str) -> types.ModuleType:
    models = types.ModuleType("data_export.models")
    models.DATA = "data"  # type: ignore[attr-defined]  # as data_export/models.py defines it
    sys.modules.setdefault("data_export", types.ModuleType("data_export"))
    sys.modules["data_export.models"] = models
    spec = importlib.util.spec_from_file_location(name, backend / "data_export" / "pipeline" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def span(text: str, part: str, label: str) -> Span:
    start = text.index(part)  # Python offsets: code points, as doccano's backend counts
    return Span(start, start + len(part), label)


def rows(member: str) -> list[dict[str, object]]:
    """What Dataset.__iter__ yields: example.to_dict() (id, data, **meta) plus labels, comments."""
    first, second = TEXTS
    labels = {
        "alice": [
            [
                span(first, "traitors", "Name_Calling,Labeling"),
                span(first, "The port lost 40% of its trade.", "claim"),
                span(first, "protesters", "actor:blamed"),
            ],
            [span(second, "Every true patriot will back the plan.", "Flag-Waving")],
        ],
        "bob": [
            [span(first, "calls protesters traitors", "Name_Calling,Labeling")],
            [],
        ],
    }[member]
    comments = {"alice": [[Comment("mayor is quoted")], []], "bob": [[], []]}[member]
    out = []
    for index, text in enumerate(TEXTS):
        meta = {
            "document_id": document_id(text),
            "text_sha256": text_sha256(text),
            "title": f"Article {index + 1}",
        }
        out.append(
            {"id": 41 + index, "data": text, **meta, "entities": labels[index], "Comments": comments[index]}
        )
    return out


def main(backend: Path) -> None:
    formatters, writers = load(backend, "formatters"), load(backend, "writers")
    steps = [
        formatters.TupledSpanFormatter("entities"),
        formatters.ListedCategoryFormatter("Comments"),
        formatters.RenameFormatter(data="text", entities="label"),
    ]
    with tempfile.TemporaryDirectory() as folder:
        for member in ("alice", "bob"):
            frame = pd.DataFrame(rows(member))
            for step in steps:
                frame = step.format(frame)
            writers.JsonlWriter.write(str(Path(folder) / f"{member}.jsonl"), frame)
        archive = shutil.make_archive(str(HERE / "doccano_export"), "zip", folder)
    print(archive)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
