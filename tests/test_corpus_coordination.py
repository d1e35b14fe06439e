"""Coordinated campaigns: every planted one found with its outlets and first publisher, no other."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import networkx as nx
import pytest
from corpus_fixtures import corpus, fill
from typer.testing import CliRunner

from propscope.cli import app
from propscope.corpus.coordination import FALLBACK_WINDOW, coordinate, estimate_window, time_to_outlets
from propscope.corpus.index import DocMeta
from propscope.corpus.reuse import ReuseGroup, find_reuse
from propscope.document import Document
from propscope.store import Store

T0 = datetime(2024, 3, 1)


def group(*docs: tuple[str, float]) -> ReuseGroup:
    """A reuse group from (outlet, hours after T0) pairs."""
    metas = [DocMeta(f"d{i}", o, None, T0 + timedelta(hours=h)) for i, (o, h) in enumerate(docs)]
    return ReuseGroup("passage", tuple(sorted(metas, key=lambda d: d.published_at or T0)), 1.0)


def planted_truth(urls: dict[str, str]) -> dict[frozenset[str], str]:
    """Planted campaigns: document ids -> first outlet."""
    return {frozenset(urls[u] for u in p.documents): p.first_outlet for p in corpus().campaigns()}


@pytest.mark.parametrize("window", [None, timedelta(hours=48), timedelta(hours=72)])
def test_finds_exactly_the_planted_campaigns(store: Store, window: timedelta | None) -> None:
    truth = planted_truth(fill(store))
    report = coordinate(find_reuse(store).groups, 3, window)
    found = {frozenset(d.id for d in c.documents): c for c in report.campaigns}
    assert set(found) == set(truth)
    for ids, first in truth.items():
        campaign = found[ids]
        assert campaign.outlets[0] == first
        assert len(campaign.outlets) == len(ids)


def test_window_is_estimated_and_explained(store: Store) -> None:
    fill(store)
    window = estimate_window(find_reuse(store).groups, 3)
    assert window.source == "estimated"
    assert timedelta(hours=1) <= window.value <= timedelta(days=2)
    assert "fast" in window.note and "slow" in window.note


@pytest.mark.parametrize(
    ("groups", "source"),
    [
        ([group(("a", 0), ("b", 1), ("c", 2))], "default"),  # too few groups to estimate
        ([group(("a", 0), ("b", h), ("c", 2 * h)) for h in (1, 2, 3, 4, 5, 6)], "default"),  # one class
        ([group(("a", 0), ("b", h), ("c", 2 * h)) for h in (0.5, 1, 1.5, 2, 200, 300, 400)], "estimated"),
    ],
)
def test_estimate_falls_back_when_the_corpus_says_nothing(groups: list[ReuseGroup], source: str) -> None:
    window = estimate_window(groups, 3)
    assert window.source == source
    if source == "default":
        assert window.value == FALLBACK_WINDOW and "default" in window.note
    else:
        assert window.value == timedelta(hours=4)  # fast class ends at 4h (2 x 2h)


@pytest.mark.parametrize(
    ("docs", "count", "expected"),
    [
        ((("a", 0), ("b", 5), ("a", 6), ("c", 7)), 3, timedelta(hours=2)),  # b, a, c within 2h
        ((("a", 0), ("a", 1)), 2, None),  # one outlet never reaches two
    ],
)
def test_time_to_outlets(docs: tuple[tuple[str, float], ...], count: int, expected: timedelta | None) -> None:
    assert time_to_outlets(group(*docs), count) == expected


@pytest.mark.parametrize(
    ("docs", "campaigns"),
    [
        ((("a", 0), ("b", 1), ("c", 2)), [["a", "b", "c"]]),
        ((("a", 0), ("b", 1), ("c", 30)), []),  # c comes too late for a window of 6h
        (
            (("a", 0), ("b", 1), ("c", 2), ("d", 100), ("e", 101), ("f", 102)),
            [["a", "b", "c"], ["d", "e", "f"]],
        ),
    ],
)
def test_bursts_within_the_window(docs: tuple[tuple[str, float], ...], campaigns: list[list[str]]) -> None:
    report = coordinate([group(*docs)], 3, timedelta(hours=6))
    assert sorted(c.outlets for c in report.campaigns) == campaigns


def test_outlet_graph_weights() -> None:
    report = coordinate(
        [group(("a", 0), ("b", 1), ("c", 2)), group(("a", 0), ("b", 3))], 3, timedelta(hours=6)
    )
    assert report.graph["a"]["b"]["weight"] == 2
    assert report.graph["a"]["b"]["campaigns"] == 1
    assert report.graph.nodes["a"]["first"] == 1


def test_cli_json_and_graphml(store: Store, tmp_path: Path) -> None:
    truth = planted_truth(fill(store))
    url = str(store.engine.url)
    graph_file = tmp_path / "outlets.graphml"
    result = CliRunner().invoke(
        app, ["corpus", "coordination", "--db", url, "--json", "--graphml", str(graph_file)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"window", "min_outlets", "campaigns"}
    assert data["min_outlets"] == 3
    assert "window" in result.stderr  # the window and why are always printed
    found = {frozenset(c["documents"]): c["first_outlet"] for c in data["campaigns"]}
    assert found == truth
    assert set(data["campaigns"][0]) >= {"passage", "outlets", "first_outlet", "start", "end", "documents"}
    graph = nx.read_graphml(graph_file)
    assert graph.number_of_nodes() >= 3


@pytest.mark.parametrize("window", ["90m", "72h", "3d"])
def test_cli_window_option(store: Store, window: str) -> None:
    fill(store)
    result = CliRunner().invoke(
        app, ["corpus", "coordination", "--db", str(store.engine.url), "--window", window, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["window_source"] == "given"


def test_cli_bad_window_is_a_usage_error(store: Store) -> None:
    result = CliRunner().invoke(
        app, ["corpus", "coordination", "--db", str(store.engine.url), "--window", "soon"]
    )
    assert result.exit_code == 2
    assert "E401" in result.stderr


def test_cli_reuse_json(store: Store) -> None:
    fill(store)
    result = CliRunner().invoke(app, ["corpus", "reuse", "--db", str(store.engine.url), "--json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)["groups"]
    assert groups and set(groups[0]["first"]) == {"id", "outlet", "published"}


def test_a_steady_stream_is_no_campaign() -> None:
    """14 outlets pick a passage up one every 30 hours: three fall within any 72 hours, and the
    chain of pickups is one long burst, but no window holds half of the outlets that carry it."""
    stream = group(*[(f"o{i}", 30.0 * i) for i in range(14)])
    burst = group(*[(f"p{i}", 4.0 * i) for i in range(5)])
    report = coordinate([stream, burst], 3, timedelta(hours=72))
    assert [c.outlets for c in report.campaigns] == [[f"p{i}" for i in range(5)]]


WIDGET = (
    "take our poll - story continues below Should the border wall be funded now? Should the "
    "border wall be funded now? Should the border wall be funded now? * Yes, fund it today. No, "
    "do not fund it. Completing this poll grants you access to our updates free of charge."
)


def test_a_poll_widget_shared_across_outlets_is_no_campaign(store: Store) -> None:
    """Template text repeating itself (a poll asking its question three times) is reuse, but never
    a campaign, however many outlets carry it at once."""
    hosts = [
        ("The harbour board met at noon.", "Fishing boats stayed in port all week."),
        ("A new bakery opened on Main Street.", "Its owner saved for ten long years."),
        ("Heavy rain is expected in the valley.", "Farmers moved their cattle uphill."),
        ("The football club named a new coach.", "Fans gathered outside the ground."),
        ("Council members argued about buses.", "The library will close on Sundays."),
    ]
    docs = [
        Document(
            text=f"{before} {WIDGET} {after}",
            outlet=f"outlet-{n}.example",
            published=f"2024-03-10T0{n}:00:00Z",
        )
        for n, (before, after) in enumerate(hosts)
    ]
    store.save_documents(docs)
    (found,) = find_reuse(store).groups
    assert len(found.outlets) == 5 and found.repetitive
    assert coordinate([found], 3, timedelta(hours=72)).campaigns == []
