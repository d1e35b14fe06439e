"""The entities analyser: canonical actors, exact mention offsets, framing, parse roles."""

from __future__ import annotations

import pytest

from propscope.analyzers.entities import EntitiesAnalyzer, derived_role, dominant_role
from propscope.document import Annotations, Document, Entity, TechniqueSpan
from propscope.eval.task10 import FINE_ROLES, MAIN_ROLES
from propscope.models.framing import Framing

TEXT = (
    "Washington has sponsored the riots, the minister said. "
    "According to the Interior Ministry, 40 people were detained in Kyiv. "
    "Ukraine's involvement in the unrest is obvious. "
    "DAESH fighters were seen near the border."
)


@pytest.fixture(scope="module")
def analyzer() -> EntitiesAnalyzer:
    return EntitiesAnalyzer()


def _actors(analyzer: EntitiesAnalyzer, text: str, prior: Annotations | None = None) -> dict[str, Entity]:
    result = analyzer.analyze([Document(text)], [prior] if prior else None)[0]
    result.check(text)
    return {e.actor: e for e in result.entities}


def test_protocol_attributes(analyzer: EntitiesAnalyzer) -> None:
    assert analyzer.name == "entities"
    assert analyzer.produces == ("entities",)
    assert analyzer.requires == ()


@pytest.mark.parametrize(
    ("actor", "surface"),
    [("United States", "Washington"), ("Ukraine", "Kyiv"), ("Ukraine", "Ukraine"), ("ISIS", "DAESH")],
)
def test_aliases_map_to_canonical_actors(analyzer: EntitiesAnalyzer, actor: str, surface: str) -> None:
    actors = _actors(analyzer, TEXT)
    assert actor in actors
    assert surface in [m.text for m in actors[actor].mentions]


def test_mention_offsets_are_exact(analyzer: EntitiesAnalyzer) -> None:
    for entity in _actors(analyzer, TEXT).values():
        for m in entity.mentions:
            assert TEXT[m.start : m.end] == m.text


@pytest.mark.parametrize(
    ("text", "actor", "role"),
    [
        ("Washington has sponsored the riots in the capital.", "United States", "blamed"),
        ("Ukraine's involvement in the unrest is obvious to everyone.", "Ukraine", "blamed"),
        ("Britain said that the talks would continue next week.", "United Kingdom", "authority"),
        ("According to NATO, the exercise will last ten days.", "NATO", "authority"),
        ("The delegation arrived in Poland on Monday morning.", "Poland", "neutral"),
    ],
)
def test_parse_roles_per_sentence(analyzer: EntitiesAnalyzer, text: str, actor: str, role: str) -> None:
    """`roles` keeps the parse rules' count of sentences casting the actor each way."""
    entity = _actors(analyzer, text)[actor]
    assert entity.roles[role] == 1


def test_blaming_technique_near_a_mention_casts_blame(analyzer: EntitiesAnalyzer) -> None:
    text = "The delegation from Poland arrived, a gang of warmongers, on Monday."
    start = text.index("a gang of warmongers")
    span = TechniqueSpan(start, start + 20, text[start : start + 20], "Name_Calling,Labeling", 0.9)
    without = _actors(analyzer, text)["Poland"]
    with_technique = _actors(analyzer, text, Annotations(techniques=(span,)))["Poland"]
    assert (without.roles["neutral"], without.roles["blamed"]) == (1, 0)
    assert with_technique.roles["blamed"] == 1


def _spans(text: str, found: list[tuple[str, str]]) -> Annotations:
    """Technique spans over the first occurrence of each (fragment, technique)."""
    spans = []
    for fragment, technique in found:
        start = text.index(fragment)
        spans.append(TechniqueSpan(start, start + len(fragment), fragment, technique, 0.9))
    return Annotations(techniques=tuple(spans))


@pytest.mark.parametrize(
    ("text", "found", "expected"),
    [
        (
            "The Kyiv junta launched a brutal crackdown on Monday.",
            [("Kyiv junta", "Name_Calling,Labeling"), ("brutal", "Loaded_Language")],
            {"Loaded_Language": 1, "Name_Calling,Labeling": 1},
        ),
        (  # another sentence, beyond the window
            "Kyiv sent a delegation to the talks in Geneva. Critics called the plan a disgraceful farce.",
            [("disgraceful farce", "Loaded_Language")],
            {},
        ),
        (  # another sentence, within 40 characters: the sentence cut still holds
            "The delegation met Kyiv. Vile liars, all of them.",
            [("Vile liars", "Name_Calling,Labeling")],
            {},
        ),
        (  # the same sentence, beyond the window
            "Kyiv sent a delegation to the long-planned peace talks, a disgraceful farce.",
            [("disgraceful farce", "Loaded_Language")],
            {},
        ),
        (  # two mentions near the same two spans: each span counts once
            "Ukraine and Kyiv are run by a corrupt clique.",
            [("corrupt", "Loaded_Language"), ("clique", "Loaded_Language")],
            {"Loaded_Language": 2},
        ),
    ],
)
def test_techniques_on_or_near_an_actor(
    analyzer: EntitiesAnalyzer, text: str, found: list[tuple[str, str]], expected: dict[str, int]
) -> None:
    entity = _actors(analyzer, text, _spans(text, found))["Ukraine"]
    assert entity.techniques == expected
    assert entity.to_json()["techniques"] == expected


@pytest.mark.parametrize(
    ("blamed", "authority", "expected"),
    [(0, 0, "neutral"), (2, 1, "blamed"), (1, 3, "authority"), (2, 2, "neutral")],
)
def test_dominant_role(blamed: int, authority: int, expected: str) -> None:
    from collections import Counter

    assert dominant_role(Counter(blamed=blamed, authority=authority, neutral=9)) == expected


def test_json_contract(analyzer: EntitiesAnalyzer) -> None:
    entity = _actors(analyzer, TEXT)["United States"].to_json()
    assert set(entity) == {
        "actor", "label", "mentions", "roles", "role", "techniques",
        "main_role", "fine_roles", "role_scores", "mention_roles",
    }
    assert set(entity["roles"]) == {"blamed", "authority", "neutral"}
    assert entity["role"] in ("blamed", "authority", "neutral")


def test_every_actor_and_mention_is_framed(analyzer: EntitiesAnalyzer) -> None:
    for entity in _actors(analyzer, TEXT).values():
        data = entity.to_json()
        assert data["main_role"] in MAIN_ROLES
        assert 1 <= len(data["fine_roles"]) <= 3
        assert all(FINE_ROLES[r] == data["main_role"] for r in data["fine_roles"])
        assert set(data["role_scores"]) == set(MAIN_ROLES) | set(FINE_ROLES)
        assert all(0.0 <= p <= 1.0 for p in data["role_scores"].values())
        assert sum(data["role_scores"][r] for r in MAIN_ROLES) == pytest.approx(1.0, abs=1e-3)
        assert len(data["mention_roles"]) == len(data["mentions"])
        for frame in data["mention_roles"]:
            assert frame["main_role"] in MAIN_ROLES
            assert all(FINE_ROLES[r] == frame["main_role"] for r in frame["fine_roles"])
            assert set(frame["scores"]) == {frame["main_role"], *frame["fine_roles"]}
        assert Entity.from_json(data) == entity


@pytest.mark.parametrize(
    ("main", "fine", "parse", "expected"),
    [
        ("Antagonist", ("Deceiver",), {"blamed": 1}, "blamed"),
        ("Antagonist", ("Deceiver",), {"authority": 2}, "authority"),  # quoted: the parse decides
        ("Protagonist", ("Guardian",), {}, "authority"),
        ("Innocent", ("Victim",), {"authority": 1}, "authority"),
        ("Innocent", ("Victim",), {"blamed": 1}, "neutral"),  # the parse cannot make a victim blamed
        ("Protagonist", ("Rebel",), {}, "neutral"),
    ],
)
def test_derived_role(main: str, fine: tuple[str, ...], parse: dict[str, int], expected: str) -> None:
    from collections import Counter

    assert derived_role(Framing(main, fine, {}), Counter(parse)) == expected


def test_specimen_actors_and_roles(analyzer: EntitiesAnalyzer, specimen_text: str) -> None:
    actors = _actors(analyzer, specimen_text)
    for name in ("United States", "Ukraine", "Kazakhstan", "Ablyazov", "Saakashvili"):
        assert name in actors, sorted(actors)
    assert (actors["United States"].main_role, actors["United States"].role) == ("Antagonist", "blamed")
    assert (actors["Tokayev"].main_role, actors["Tokayev"].role) == ("Protagonist", "authority")


@pytest.mark.xfail(
    strict=True,
    reason="issue 16 target not met by the framing head (EMR ~0.25 cross-validated): on the specimen "
    "it casts Kazakhstan as a Protagonist/Rebel and Ukraine as Innocent/Victim",
)
def test_specimen_framing_as_the_issue_expects(analyzer: EntitiesAnalyzer, specimen_text: str) -> None:
    actors = _actors(analyzer, specimen_text)
    assert actors["Kazakhstan"].main_role == "Innocent" and "Victim" in actors["Kazakhstan"].fine_roles
    assert actors["Ukraine"].main_role == "Antagonist"


@pytest.mark.parametrize("text", ["Hi.", "   \n\n  x", "1 2 3"])
def test_tiny_documents_give_empty_layers(text: str) -> None:
    from propscope.analyzers.claims import ClaimsAnalyzer
    from propscope.analyzers.narratives import NarrativesAnalyzer

    docs = [Document(text)]
    assert EntitiesAnalyzer().analyze(docs)[0].entities == ()
    assert ClaimsAnalyzer().analyze(docs)[0].claims == ()
    assert NarrativesAnalyzer().analyze(docs)[0].narratives == ()
