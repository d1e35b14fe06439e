"""SemEval-2023 English spans carried onto the PTC texts (propscope.training.semeval2023)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from propscope.eval import ptc
from propscope.techniques import NAMES
from propscope.training import semeval2023 as s23

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PTC_DIR = SHARED / "ptc-semeval2020-task11"
S23_DIR = SHARED / "semeval2023-task3"
needs_data = pytest.mark.skipif(
    not (PTC_DIR / "train-articles").is_dir() or not (S23_DIR / s23.S23_SPANS).is_dir(),
    reason=f"PTC / SemEval-2023 data absent (expected under {SHARED})",
)

# (2023 text, PTC text): the same words with other line breaks and spacing.
PAIRS = [
    ("Title here\n\nThe quick brown fox.\nIt jumps over  the dog.\n",
     "Title here\nThe quick brown\nfox. It jumps over the dog."),
    ("A  B\tC\n\n\nD", "A B C D"),
    ("no change at all", "no change at all"),
    ("Left  \n right \n", "\n\nLeft right"),
]


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", text)]


@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_every_word_lands_on_the_same_word(src: str, dst: str) -> None:
    alignment = s23.align_texts(src, dst)
    for word, start, end in _words(src):
        mapped = s23.map_span(alignment, start, end)
        assert mapped.status == s23.EXACT
        assert dst[mapped.start : mapped.end] == word


@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_multiword_spans_keep_their_words(src: str, dst: str) -> None:
    words = _words(src)
    start, end = words[0][1], words[-1][2]
    mapped = s23.map_span(s23.align_texts(src, dst), start, end)
    assert mapped.status == s23.EXACT
    assert dst[mapped.start : mapped.end].split() == src[start:end].split()


@pytest.mark.parametrize("span", [(0, 2), (3, 9), (4, 16), (10, 11), (0, 16)])
def test_identical_texts_map_to_the_same_offsets(span: tuple[int, int]) -> None:
    text = "no change at all"
    mapped = s23.map_span(s23.align_texts(text, text), *span)
    assert (mapped.start, mapped.end, mapped.status, mapped.trimmed) == (*span, s23.EXACT, False)


@pytest.mark.parametrize(("start", "end", "want"), [(0, 8, "said"), (4, 11, "said"), (2, 15, "said more")])
def test_edge_whitespace_is_trimmed_and_flagged(start: int, end: int, want: str) -> None:
    src, dst = "    said   more", "said more"
    mapped = s23.map_span(s23.align_texts(src, dst), start, end)
    assert dst[mapped.start : mapped.end] == want
    assert mapped.trimmed and mapped.status == s23.EXACT


def test_whitespace_only_span_fails() -> None:
    mapped = s23.map_span(s23.align_texts("a    b", "a b"), 1, 4)
    assert (mapped.status, mapped.start, mapped.end) == (s23.FAILED, -1, -1)


@pytest.mark.parametrize(
    ("src", "dst", "span", "status", "landed"),
    [
        # curly vs straight quotes inside the span: same length, mapped one to one, not identical
        ("He said “no” today", "He said \"no\" today", (3, 12), s23.APPROXIMATE, "said \"no\""),
        # an emoji run deleted inside the span: both ends still aligned
        ("end!!! 🇺🇲🇺🇲 Comfortably", "end!!!\nComfortably", (0, 23), s23.APPROXIMATE, "end!!!\nComfortably"),
        # the span ends in the deleted text: not moved to a nearby word
        ("end!!! 🇺🇲🇺🇲 Comfortably", "end!!!\nComfortably", (0, 9), s23.FAILED, ""),
    ],
)
def test_edited_text(src: str, dst: str, span: tuple[int, int], status: str, landed: str) -> None:
    mapped = s23.map_span(s23.align_texts(src, dst), *span)
    assert mapped.status == status
    assert (dst[mapped.start : mapped.end] if status != s23.FAILED else "") == landed


def test_alignment_is_exact_after_an_edit() -> None:
    src = "Alpha beta “gamma” delta.\n" + "Words after the edit stay put. " * 30
    dst = "Alpha beta \"gamma\" delta. " + "Words after the edit stay put.\n" * 30
    alignment = s23.align_texts(src, dst)
    for word, start, end in _words(src)[4:]:
        mapped = s23.map_span(alignment, start, end)
        assert (mapped.status, dst[mapped.start : mapped.end]) == (s23.EXACT, word)


def test_table_reaches_the_14_classes_only() -> None:
    assert {v for v in s23.TO_PTC.values() if v} == set(NAMES)
    assert set(s23.ALIASES.values()) <= set(s23.TO_PTC)


def test_table_covers_the_23_labels_exactly() -> None:
    listed = S23_DIR / "scorers-data" / "techniques_subtask3.txt"
    if not listed.is_file():
        pytest.skip(f"{listed} absent (the SemEval-2023 data is not in ../shared)")
    labels = [line.strip() for line in listed.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(labels) == 23
    assert sorted(s23.TO_PTC) == sorted(labels)


def _tiny_corpus(root: Path) -> tuple[Path, Path]:
    ptc_dir, s23_dir = root / "ptc", root / "s23"
    for folder in ("train-articles", "dev-articles"):
        (ptc_dir / folder).mkdir(parents=True)
    (s23_dir / s23.S23_ARTICLES).mkdir(parents=True)
    (s23_dir / s23.S23_SPANS).mkdir(parents=True)
    texts = {"1": ("train", "Title\n\nThey lie.\nAlways.", "Title\nThey lie. Always."),
             "2": ("dev", "Dev title\n\nTraitors!", "Dev title\nTraitors!")}
    for article, (split, text23, text_ptc) in texts.items():
        (ptc_dir / f"{split}-articles" / f"article{article}.txt").write_text(text_ptc, encoding="utf-8")
        (s23_dir / s23.S23_ARTICLES / f"article{article}.txt").write_text(text23, encoding="utf-8")
    spans = {
        "1": ["Loaded_Language\t7\t11", "Made_Up_Technique\t12\t15", "Appeal_to_Time\t7\t15",
              "Appeal_to_Fear-Prejudi-čce\t7\t24", "Straw_Man\t17\t24", "Red_Herring\t17\t24"],
        "2": ["Name_Calling-Labeling\t11\t19"],
    }
    for article, lines in spans.items():
        path = s23_dir / s23.S23_SPANS / f"article{article}-labels-subtask-3.txt"
        path.write_text("".join(f"{article}\t{line}\n" for line in lines), encoding="utf-8")
    return ptc_dir, s23_dir


def test_unknown_and_unmapped_labels_are_counted(tmp_path: Path) -> None:
    data = s23.relabel(*_tiny_corpus(tmp_path))
    assert data.unknown == {"Made_Up_Technique": 1}
    rows = data.rows("train")["1"]
    assert [(r.technique, r.start, r.end) for r in rows] == [
        ("Loaded_Language", 6, 10),
        ("Appeal_to_fear-prejudice", 6, 23),
        ("Whataboutism,Straw_Men,Red_Herring", 16, 23),  # Straw_Man and Red_Herring fused
    ]
    assert s23._dropped(data)["no_ptc_class"]["Appeal_to_Time"] == 1
    assert s23._dropped(data)["same_class_same_span_fused"] == 1


def test_ptc_rows_keeps_to_its_split(tmp_path: Path) -> None:
    ptc_dir, s23_dir = _tiny_corpus(tmp_path)
    dev = s23.ptc_rows(ptc_dir, s23_dir, "dev")
    assert dev == {"2": [ptc.TCRow("2", "Name_Calling,Labeling", 10, 18)]}
    assert set(s23.ptc_rows(ptc_dir, s23_dir, "train")) == {"1"}
    with pytest.raises(ValueError, match="split must be one of"):
        s23.ptc_rows(ptc_dir, s23_dir, "test")


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="train-articles"):
        s23.relabel(tmp_path / "nowhere", tmp_path)


@pytest.fixture(scope="module")
def real() -> s23.Relabelled:
    return s23.relabel(PTC_DIR, S23_DIR)


@needs_data
def test_real_spans_align(real: s23.Relabelled) -> None:
    assert len(real.spans) >= 7000
    aligned = sum(s.status != s23.FAILED for s in real.spans)
    assert aligned / len(real.spans) >= 0.95


@needs_data
@pytest.mark.parametrize("split", ["train", "dev"])
def test_real_rows_are_valid_ptc_rows(real: s23.Relabelled, split: str) -> None:
    texts = ptc.read_articles(PTC_DIR / s23.PTC_ARTICLES[split])
    rows = real.rows(split)
    assert rows and set(rows) <= set(texts)
    for article, article_rows in rows.items():
        for r in article_rows:
            assert r.article == article and r.technique in NAMES
            assert 0 <= r.start < r.end <= len(texts[article])
            assert not texts[article][r.start].isspace() and not texts[article][r.end - 1].isspace()


@needs_data
def test_real_exact_spans_hold_the_2023_words(real: s23.Relabelled) -> None:
    ptc_texts = ptc.read_articles(PTC_DIR / "train-articles") | ptc.read_articles(PTC_DIR / "dev-articles")
    s23_texts = ptc.read_articles(S23_DIR / s23.S23_ARTICLES)
    checked = 0
    for span, (article, _, start, end) in zip(real.spans, _raw_spans(), strict=True):
        if span.status == s23.EXACT:
            assert ptc_texts[article][span.start : span.end].split() == s23_texts[article][start:end].split()
            checked += 1
    assert checked >= 0.95 * len(real.spans)


def _raw_spans() -> list[tuple[str, str, int, int]]:
    spans = []
    for path in sorted((S23_DIR / s23.S23_ARTICLES).glob("article*.txt")):
        labels = S23_DIR / s23.S23_SPANS / f"{path.stem}-labels-subtask-3.txt"
        spans += s23.read_s23_spans(labels)
    return spans


def test_cli_writes_the_measurement(tmp_path: Path) -> None:
    ptc_dir, s23_dir = _tiny_corpus(tmp_path)
    (ptc_dir / "train-task2-TC.labels").write_text("1\tLoaded_Language\t6\t10\n1\tDoubt\t16\t23\n")
    (ptc_dir / "train-task1-SI.labels").write_text("1\t6\t10\n1\t16\t23\n")
    (ptc_dir / "dev-task-TC.labels").write_text("2\tName_Calling,Labeling\t10\t18\n")
    out = tmp_path / "out" / "relabel.json"
    argv = ["--ptc", str(ptc_dir), "--s23", str(s23_dir), "--out", str(out)]
    assert s23.main(argv) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["command"].startswith("python -m propscope.training.semeval2023 --ptc ")
    assert "never train" in result["note"]
    spans = result["spans"]
    assert (spans["read"], spans["exact"], spans["failed"]) == (7, 7, 0)
    agreement = result["agreement_ptc_train"]
    assert agreement["tc"]["micro_f1_all_gold_rows"] == 0.5  # Doubt vs Whataboutism on (16, 23)
    assert agreement["rows"]["identical_rows"] == 1
    assert agreement["si"]["recall"] == 1.0 and agreement["si"]["precision"] < 1.0
    assert result["class_counts"]["dev"]["Name_Calling,Labeling"] == {"mapped_2023": 1, "ptc_gold": 1}
