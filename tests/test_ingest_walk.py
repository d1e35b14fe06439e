"""Directory walks and --glob (issue 13, D16/D19): links out of the folder are skipped and named,
links inside it are read, loops end, and a glob that leaves the folder is a usage error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import UsageError
from propscope.ingest import IngestFailure, iter_documents

TEXT = "The regional council debated the {} plan for three hours on Wednesday before voting on it."


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    (root / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    (root / "a.txt").write_text(TEXT.format("roads"))
    (root / "sub" / "b.txt").write_text(TEXT.format("schools"))
    (elsewhere / "secret.txt").write_text(TEXT.format("secret"))
    (root / "passwd.txt").symlink_to(elsewhere / "secret.txt")
    (root / "outdir").symlink_to(elsewhere, target_is_directory=True)
    (root / "inside").symlink_to(root / "sub", target_is_directory=True)  # a folder reached twice
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)  # a loop
    (root / "sub" / "a-again.txt").symlink_to(root / "a.txt")  # a file link inside the tree
    (root / "self").symlink_to(root / "self")  # a link to itself
    (root / "broken.txt").symlink_to(root / "nowhere.txt")
    return root


def test_links_out_of_the_folder_are_skipped_and_named(corpus: Path) -> None:
    items = list(iter_documents([corpus]))
    texts = [item.text for item in items if isinstance(item, Document)]
    failures = {Path(f.source).name: f for f in items if isinstance(f, IngestFailure)}
    assert not any("secret" in text for text in texts)
    assert sorted(texts) == sorted([TEXT.format("roads"), TEXT.format("schools")])
    assert failures["passwd.txt"].code == failures["outdir"].code == "E046"
    secret = corpus.parent / "elsewhere" / "secret.txt"
    assert failures["passwd.txt"].message.startswith(
        f"E046 {corpus / 'passwd.txt'}: skipped, a symbolic link to {secret}"
    )
    assert failures["a-again.txt"].duplicate  # read through the link inside the tree: a copy
    assert set(failures) == {"passwd.txt", "outdir", "a-again.txt"}


def test_walk_of_a_folder_linked_from_outside_reads_it(corpus: Path, tmp_path: Path) -> None:
    link = tmp_path / "link-to-corpus"
    link.symlink_to(corpus, target_is_directory=True)
    docs = [i for i in iter_documents([link], IngestOptions(glob="b.txt")) if isinstance(i, Document)]
    assert [d.source for d in docs] == [os.fspath(link / "sub" / "b.txt")]  # walked once


@pytest.mark.parametrize("glob", ["/etc/*", "../*", "sub/../../*", ""])
def test_glob_leaving_the_folder_is_a_usage_error(corpus: Path, glob: str) -> None:
    with pytest.raises(UsageError, match=r"^E410 --glob .* must be a relative pattern"):
        list(iter_documents([corpus], IngestOptions(glob=glob)))


@pytest.mark.parametrize(
    ("glob", "names"), [("*.txt", ["a.txt", "b.txt"]), ("sub/*.txt", ["a-again.txt", "b.txt"])]
)
def test_glob_still_matches_inside_the_folder(corpus: Path, glob: str, names: list[str]) -> None:
    docs = [i for i in iter_documents([corpus], IngestOptions(glob=glob)) if isinstance(i, Document)]
    assert sorted(Path(d.source or "").name for d in docs) == names
