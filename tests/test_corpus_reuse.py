"""Shared passages found by alignment: wherever a copy sits, however its text is cut, and only
real copies (no paraphrase, no outlet boilerplate)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus_fixtures import corpus, documents, fill, planted_ids
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from propscope.cli import app
from propscope.corpus import synthetic
from propscope.corpus.index import SCHEME, indexed_count, update_index
from propscope.corpus.reuse import ReuseReport, find_reuse
from propscope.corpus.verify import Engine
from propscope.document import Document
from propscope.store import Store
from propscope.store.schema import reuse_signatures

PASSAGE = (
    "The harbour commission quietly renewed every trawler licence in the northern bay last night, "
    "ignoring its own inspectors, the warnings of the coast guard and a court order that told it "
    "to wait for the survey of the fish stocks promised to the fishermen in the spring."
)
HOSTS = [
    "Council members met on {d} to discuss the new budget for schools and roads. The mayor said the "
    "city would borrow less this year. {p} Residents asked about bus routes and the library hours, "
    "and the meeting ran late into the evening before a vote was postponed.",
    "Weather forecasters expect heavy rain across the valley on {d}, with flooding possible near the "
    "river. {p} Farmers were told to move livestock to higher ground, and schools may close early.",
    "A new bakery opened on the high street on {d}, selling bread made from local grain. {p} The owner "
    "said she had saved for ten years, and the queue stretched round the corner by nine o'clock.",
    "The football club announced a new coach on {d} after a season of defeats. {p} Fans gathered at the "
    "ground to welcome him, though some said the board should have acted months ago.",
]


def edited(text: str) -> str:
    """A light edit: one word changed, one dropped, quotes and case changed."""
    return (
        text.replace("quietly", "silently")
        .replace(" last night,", " last night")
        .replace("trawler", "“trawler”")
        .replace("The harbour", "THE harbour")
    )


def article(n: int, outlet: str, when: str, passage: str, flat: bool = False) -> Document:
    text = HOSTS[n % len(HOSTS)].format(d=when[:10], p=passage)
    text = text if flat else text.replace(". ", ".\n", 1)
    return Document(text=text, outlet=outlet, published=when, url=f"https://{outlet}/{n}")


def campaign_docs() -> list[Document]:
    return [
        article(0, "alpha.example", "2024-03-10T06:00:00Z", PASSAGE),
        article(1, "bravo.example", "2024-03-10T09:00:00Z", edited(PASSAGE)),
        article(2, "charlie.example", "2024-03-10T12:00:00Z", edited(PASSAGE), flat=True),
        article(3, "delta.example", "2024-03-11T01:00:00Z", PASSAGE.upper()),
    ]


@pytest.fixture
def found(store: Store) -> tuple[ReuseReport, dict[str, str]]:
    urls = fill(store)
    return find_reuse(store), urls


def test_a_passage_inside_other_paragraphs_is_one_group_with_its_spans(store: Store) -> None:
    docs = campaign_docs()
    store.save_documents(docs)
    (group,) = find_reuse(store).groups
    assert [d.outlet for d in group.documents] == [
        "alpha.example",
        "bravo.example",
        "charlie.example",
        "delta.example",
    ]
    assert group.first.outlet == "alpha.example"
    by_id = {d.id: d for d in docs}
    for member in group.members:
        text = by_id[member.doc.id].text
        assert text[member.start : member.end] == member.text
        start = text.lower().index("harbour")
        assert abs(member.start - start) < 12 and member.text.lower().endswith("in the spring")
    assert group.passage in PASSAGE and len(group.passage) > 0.9 * len(PASSAGE)  # the first publisher's


def test_paraphrases_are_not_reuse(found: tuple[ReuseReport, dict[str, str]]) -> None:
    report, urls = found
    for decoy in planted_ids(urls, "paraphrase"):
        assert all(len(decoy & {d.id for d in g.documents}) <= 1 for g in report.groups)


@pytest.mark.parametrize("kind", [*synthetic.CAMPAIGN_KINDS, "quote", "syndication"])
def test_every_planted_passage_is_one_group(found: tuple[ReuseReport, dict[str, str]], kind: str) -> None:
    report, urls = found
    groups = [frozenset(d.id for d in g.documents) for g in report.groups]
    for planted in planted_ids(urls, kind):
        assert any(planted <= g for g in groups), kind


def test_boilerplate_is_recognised_and_left_out(found: tuple[ReuseReport, dict[str, str]]) -> None:
    report, _ = found
    footers = {p.outlets[0]: p.passage for p in corpus().of_kind("boilerplate")}
    assert {b.outlet for b in report.boilerplate} == set(footers)
    for piece in report.boilerplate:
        assert footers[piece.outlet][20:80] in piece.text  # the footer, give or take a few words
    for group in report.groups:
        assert not any(m.text in footers[m.doc.outlet or ""] for m in group.members)


def test_every_member_span_is_its_documents_text(found: tuple[ReuseReport, dict[str, str]]) -> None:
    report, _ = found
    texts = {d.id: d.text for d in documents()}
    for group in report.groups:
        assert len(group.members) == len(group.documents)
        for member in group.members:
            assert texts[member.doc.id][member.start : member.end] == member.text
            assert member.similarity >= 0.5
        assert group.similarity >= 0.5


def test_json_contract(found: tuple[ReuseReport, dict[str, str]]) -> None:
    data = found[0].to_json()
    group = data["groups"][0]
    assert set(group) >= {"passage", "documents", "members", "first", "similarity"}
    assert set(group["documents"][0]) == {"id", "outlet", "published"}
    assert set(group["members"][0]) == {
        "document",
        "outlet",
        "published",
        "start",
        "end",
        "text",
        "similarity",
    }
    assert group["first"] == group["documents"][0]
    assert {b["outlet"] for b in data["boilerplate"]}


def test_index_and_alignment_are_incremental(store: Store) -> None:
    docs = documents()
    fill(store, docs[:250])
    assert update_index(store) == 250
    first = find_reuse(store)
    assert first.stats["newly_aligned"] == 250
    fill(store, docs[250:])
    report = find_reuse(store)
    assert report.hashed == len(docs) - 250 and report.stats["newly_aligned"] == len(docs) - 250
    assert find_reuse(store).stats["newly_aligned"] == 0
    assert indexed_count(store) == len(docs)
    fresh = Store.open(f"sqlite:///{Path(str(store.engine.url.database)).with_suffix('.fresh.db')}")
    with fresh:
        fill(fresh, docs)
        whole = find_reuse(fresh)
    assert {frozenset(d.id for d in g.documents) for g in whole.groups} == {
        frozenset(d.id for d in g.documents) for g in report.groups
    }


def test_rows_of_another_scheme_are_rehashed(store: Store) -> None:
    fill(store, documents()[:20])
    update_index(store)
    with store.engine.begin() as conn:
        conn.execute(update(reuse_signatures).values(scheme="old-scheme"))
    assert update_index(store) == 20
    with store.engine.connect() as conn:
        schemes = conn.execute(
            select(reuse_signatures.c.scheme, func.count()).group_by(reuse_signatures.c.scheme)
        ).all()
    assert [row[0] for row in schemes] == [SCHEME]


def test_near_duplicate_documents(store: Store) -> None:
    docs = documents()[:30]
    copy = docs[0].with_(text=docs[0].text + "\n\nRead more at our partner site.", outlet="copycat.example")
    fill(store, [*docs, copy])
    report = find_reuse(store)
    assert [{d.id for d in g.documents} for g in report.duplicates] == [{docs[0].id, copy.id}]


def test_empty_store(store: Store) -> None:
    report = find_reuse(store)
    assert report.groups == [] and report.duplicates == [] and report.documents == 0


@pytest.mark.postgres
def test_same_groups_on_postgres(pg_store: Store, store: Store) -> None:
    fill(pg_store)
    fill(store)
    on_pg = {frozenset(d.id for d in g.documents) for g in find_reuse(pg_store).groups}
    on_sqlite = {frozenset(d.id for d in g.documents) for g in find_reuse(store).groups}
    assert on_pg == on_sqlite


def write_jsonl(path: Path, docs: list[Document]) -> Path:
    rows = [
        {"text": d.text, "title": "t", "outlet": d.outlet, "url": d.url, "published": d.published}
        for d in docs
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_cli_contract_from_ingest_to_campaigns(tmp_path: Path) -> None:
    """`propscope ingest`, then `corpus coordination --min-outlets 3 --window 72h --json` and
    `corpus reuse --json`: the campaign and the spans of the inserted passage, the quote printed
    weeks apart is reuse but no campaign."""
    quote = PASSAGE.replace("harbour commission", "river board")
    late = [
        article(n, o, f"2024-0{n}-01T08:00:00Z", quote)
        for n, o in [(4, "echo.example"), (5, "fox.example"), (6, "golf.example")]
    ]
    source = write_jsonl(tmp_path / "corpus.jsonl", campaign_docs() + late)
    db = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(source), "--db", db]).exit_code == 0
    result = runner.invoke(
        app, ["corpus", "coordination", "--db", db, "--min-outlets", "3", "--window", "72h", "--json"]
    )
    assert result.exit_code == 0, result.output
    (campaign,) = json.loads(result.stdout)["campaigns"]
    assert campaign["first_outlet"] == "alpha.example"
    assert campaign["outlets"] == ["alpha.example", "bravo.example", "charlie.example", "delta.example"]
    assert len(campaign["documents"]) == 4 and "harbour" in campaign["passage"]
    result = runner.invoke(app, ["corpus", "reuse", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)["groups"]
    assert len(groups) == 1  # the quote and the campaign passage differ by two words only: one text
    members = groups[0]["members"]
    assert len(members) == 7 and all({"board", "harbour"} & set(m["text"].lower().split()) for m in members)


def test_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["corpus", "reuse", "--db", f"sqlite:///{tmp_path / 'e.db'}", "--engine", "spark"]
    )
    assert result.exit_code == 2
    assert "E520" in result.stderr and "local, ray" in result.stderr


def test_ray_aligns_what_local_aligns(tmp_path: Path) -> None:
    """The alignment step as Ray tasks (a local Ray, one worker): the same groups and spans."""
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'propscope[ray]'")
    docs = campaign_docs() + documents()[:40]
    spans = []
    for engine in (Engine(), Engine("ray", workers=1)):
        with Store.open(f"sqlite:///{tmp_path / engine.name}.db") as store:
            store.save_documents(docs)
            groups = find_reuse(store, engine=engine).groups
        spans.append(sorted((m.doc.id, m.start, m.end) for g in groups for m in g.members))
    assert spans[0] == spans[1] and spans[0]
