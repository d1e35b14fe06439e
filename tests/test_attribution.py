"""Speaker attribution: the labelled fixture, the scorer, and each parse rule on short sentences."""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from rich.console import Console

from propscope import Annotations, Document, Result, render
from propscope.analyzers import _spacy
from propscope.analyzers._attribution import Attribution, Attributor, quote_mask
from propscope.analyzers.claims import _candidates
from propscope.document import Claim, Span
from propscope.eval.attribution import Gold, Predicted, Tally, actor_correct, read_fixture, same_speaker

FIXTURE = Path(__file__).parent / "data" / "attribution_labelled.tsv"
SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_shared = pytest.mark.skipif(
    not (SHARED / "data" / "ptc-semeval2020-task11").is_dir(),
    reason="../shared (the labelled articles) is absent",
)


@cache
def _attributor() -> Attributor:
    return Attributor()


def attribute(text: str) -> list[tuple[str, Attribution | None]]:
    """(sentence, attribution) for each candidate sentence, as the claims analyser sees them."""
    sp = _spacy.parse([text])[0]
    sentences = _candidates(text, sp)
    found = _attributor().document(text, sp, sentences)
    return [(text[s:e], a) for (s, e, _), a in zip(sentences, found, strict=True)]


def speaker(text: str, k: int = 0) -> str | None:
    found = attribute(text)[k][1]
    return text[found.start : found.end] if found else None


# --- the fixture -------------------------------------------------------------------------------


def test_fixture_is_large_and_split_by_article() -> None:
    golds = read_fixture(FIXTURE)
    assert len(golds) >= 150
    splits = {g.article: g.split for g in golds}
    assert Counter(splits.values()) == {"dev": 8, "test": 8}
    assert {g.article.split("/")[0] for g in golds} == {"ptc-semeval2020-task11", "semeval2025-task10"}
    assert {g.split for g in golds if g.article == golds[0].article} == {
        golds[0].split
    }  # one split per article


def test_fixture_names_its_guidelines_and_holds_no_article_text() -> None:
    raw = FIXTURE.read_text(encoding="utf-8")
    assert "attribution_guidelines.md" in raw and (FIXTURE.parent / "attribution_guidelines.md").is_file()
    assert max(len(line) for line in raw.splitlines()) < 300  # offsets and short labels only


@needs_shared
def test_fixture_offsets_point_at_the_labelled_text() -> None:
    raw = [
        line.split("\t")
        for line in FIXTURE.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ]
    header, rows = raw[0], raw[1:]
    for row in rows:
        r = dict(zip(header, row, strict=True))
        with (SHARED / "data" / r["article_file"]).open(encoding="utf-8", newline="") as handle:
            text = handle.read()
        spans = [(r[f"{k}_start"], r[f"{k}_end"]) for k in ("stmt", "speaker", "antecedent", "verb")]
        for start, end in spans:
            if start != "-":
                assert 0 <= int(start) < int(end) <= len(text)
                assert text[int(start)].strip() and text[int(end) - 1].strip()  # no whitespace at the edges
        stmt = text[int(r["stmt_start"]) : int(r["stmt_end"])]
        who = text[int(r["speaker_start"]) : int(r["speaker_end"])] if r["speaker_start"] != "-" else ""
        assert hashlib.sha1(f"{stmt}|{who}".encode()).hexdigest()[:8] == r["check"], r


# --- the scorer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("predicted", "gold", "same"),
    [
        ("Tokayev", "Kassym-Jomart Tokayev", True),
        ("Li", "Li Qun", True),
        ("NRA", "National Rifle Association", True),
        ("Schumer", "Chuck Schumer and Nancy Pelosi", True),
        ("the Kremlin", "Vladimir Putin", False),
        (None, "Vladimir Putin", False),
    ],
)
def test_same_speaker(predicted: str | None, gold: str, same: bool) -> None:
    assert same_speaker(predicted, gold) is same


@pytest.mark.parametrize(
    ("actor", "canonical", "right"),
    [
        (None, "a neighbor", True),
        ("Justice Department", "a Justice Department official", True),
        ("Ridd", "a spokesperson", False),
    ],
)
def test_unnamed_speakers_need_no_actor(actor: str | None, canonical: str, right: bool) -> None:
    assert actor_correct(actor, canonical) is right


def test_tally_counts_a_speaker_on_a_plain_sentence_as_wrong() -> None:
    text = "Smith said it rained. It rained."
    gold = Gold("a", "dev", (11, 20), (0, 5), None, "John Smith", (6, 10), "say", False)
    right = Predicted(0, 21, (0, 5), "Smith", "said", False)
    stray = Predicted(22, 32, (22, 24), None, "said", False)
    tally = Tally()
    tally.add(text, [gold], [right, stray])
    figures = tally.figures()
    assert (figures["speaker_precision"], figures["speaker_recall"]) == (0.5, 1.0)
    assert figures["verb_accuracy"] == figures["quote_accuracy"] == figures["actor_accuracy"] == 1.0


# --- rules, one short sentence each ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "who"),
    [
        ("According to the central bank, inflation rose to 12 percent in March.", "the central bank"),
        ("Eight states sued on Monday, arguing that the files were dangerous.", "Eight states"),
        ("I distrust media reports that claim the tactics worked well.", "media reports"),
        ("The mother of the victim, Allison Jean, says the smear is unacceptable.", "Allison Jean"),
        ("She told police that he threatened her daughter, the report said.", "She"),
        (
            "A clerk at the hotel declined to indicate exactly when Smith moved out and if he left "
            "the rooms voluntarily, the City Times reports.",
            "the City Times",
        ),
        ("The report said that she told police he had threatened her daughter.", "she"),
        ("“The report states facts nobody checked,” the lawyer said.", "the lawyer"),
        (
            "Protest at the stadium today pic.twitter.com/x1 — Allison Harris (@AllisonFox) September 16",
            "Allison Harris",
        ),
        ("A senior official announced the development on Friday evening.", None),
        ("Mr. Ridd believes its health has been greatly exaggerated.", None),
        ("Do you believe that investigators would have said anything like this?", None),
    ],
)
def test_speaker_of_one_sentence(text: str, who: str | None) -> None:
    assert speaker(text) == who


def test_a_multi_sentence_quote_takes_the_frame_that_closes_it() -> None:
    text = "“We must stay united in these hard times. The enemy will surely lose this war,” Putin said."
    found = attribute(text)
    assert [text[a.start : a.end] if a else None for _, a in found] == ["Putin", "Putin"]
    assert all(a is not None and a.quote and a.verb == "said" for _, a in found)


def test_a_frameless_quote_continues_the_quote_before_it() -> None:
    text = "“I really do not mind it at all,” he said on Friday. “I told the House to go and see it.”"
    assert [s for s, a in attribute(text) if a is not None and text[a.start : a.end] == "he"] == [
        s for s, _ in attribute(text)
    ]


def test_a_quote_runs_on_across_paragraphs_opened_again() -> None:
    text = "Smith said on Monday: “The first point is that we win.\n\n“The second point is that they lose.”"
    found = attribute(text)
    assert len(found) == 2 and found[1][1] is not None
    assert text[found[1][1].start : found[1][1].end] == "Smith"


def test_a_quote_does_not_run_on_into_the_authors_words() -> None:
    text = "“We will win this war,” Smith said.\nThe weather in the capital was cold on Monday."
    assert attribute(text)[1][1] is None


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("Morbitzer said the officers were responding to a “potential domestic situation.”", False),
        ("He says that “the affidavit is not written objectively at all.”", True),
        ("He called them “true American heroes” on Sunday.", True),
    ],
)
def test_direct_quote_means_the_statement_opens_quoted(text: str, quote: bool) -> None:
    found = attribute(text)[0][1]
    assert found is not None and found.quote is quote


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ('He said "it is over." Then "we left."\nThe end came.', '"it is over.""we left."'),
        ('It was a "good day for us.\nThe plan "works" well.', '"good day for us."works"'),  # one left open
    ],
)
def test_straight_quotes_open_and_close_by_their_neighbours(text: str, quoted: str) -> None:
    mask = quote_mask(text)
    assert "".join(ch for ch, m in zip(text, mask, strict=True) if m) == quoted


# --- canonical speakers ------------------------------------------------------------------------


def test_titles_and_pronouns_link_to_the_named_person() -> None:
    text = (
        "Kazakh President Kassym-Jomart Tokayev said the protests were an act of aggression. "
        "The Kazakh President said the state of emergency would end soon. "
        "Later he said that order had been restored in the cities."
    )
    actors = [a.actor if a else None for _, a in attribute(text)]
    assert len(set(actors)) == 1 and "Tokayev" in str(actors[0])  # one speaker, as entities names him


def test_a_pronoun_takes_the_person_named_last() -> None:
    text = "Mary Jones spoke to reporters on Monday. She said the plan would fail by June."
    found = attribute(text)[1][1]
    assert found is not None and found.actor == "Jones"


def test_an_unnamed_source_gets_no_actor() -> None:
    found = attribute("A neighbor who heard the gunfire said it happened at a home.")[0][1]
    assert found is not None and found.actor is None


def test_claim_json_round_trip_keeps_the_actor() -> None:
    text = "Tokayev said the protests were an external aggression."
    claim = Claim(0, len(text), text, 0.9, False, Span.of(text, 0, 7), "said", "Tokayev")
    assert Claim.from_json(claim.to_json()) == claim
    assert (
        Claim.from_json({k: v for k, v in claim.to_json().items() if k != "speaker_actor"}).speaker_actor
        is None
    )


def test_terminal_claims_table_shows_the_actor() -> None:
    text = "He said the protests were an external aggression by foreign forces."
    claim = Claim(0, len(text), text, 0.9, False, Span.of(text, 0, 2), "said", "Tokayev")
    console = Console(record=True, width=200, color_system=None)
    render.print_text([Result(Document(text=text), Annotations(claims=(claim,)))], console)
    assert "Tokayev" in console.export_text()


@needs_shared
def test_specimen_speakers_are_linked() -> None:
    text = (SHARED / "examples" / "neo-kazakhstan-2022.txt").read_text(encoding="utf-8")
    found = [(s, a) for s, a in attribute(text) if a is not None]
    aggression = [a for s, a in found if "external aggression" in s and "Kassym-Jomart Tokayev said" in s]
    ministry = [a for s, a in found if "outside-inspired" in s]
    assert aggression and aggression[0].actor == "Tokayev"
    assert ministry and text[ministry[0].start : ministry[0].end] == "Russia’s Ministry of Foreign Affairs"
