"""The corpus commands: `propscope corpus reuse|coordination`, `propscope outlets`, `propscope batch`.

Argument parsing and printing only; the work is in `propscope.corpus` and `propscope.batch`.
JSON goes to stdout; progress, notes (such as how the coordination window was chosen) and errors
go to stderr, so `--json` output stays machine-readable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from propscope.batch import run_batch
from propscope.corpus.coordination import DEFAULT_MIN_OUTLETS, CoordinationReport, coordinate
from propscope.corpus.durations import format_duration, parse_duration
from propscope.corpus.index import load_sightings
from propscope.corpus.outlets import OutletProfile, build_profiles, compare
from propscope.corpus.reuse import PASSAGE_JACCARD, ReuseReport, find_reuse
from propscope.errors import PropscopeError, UsageError
from propscope.store import Store

corpus_app = typer.Typer(
    help="Corpus-scale analysis: shared passages and coordinated publication across outlets.",
    no_args_is_help=True,
)
out = Console(soft_wrap=False, highlight=False)
err = Console(stderr=True, highlight=False)

Db = Annotated[
    str | None,
    typer.Option("--db", help="Store URL (default: $PROPSCOPE_DB or the SQLite file in the user data dir)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
Threshold = Annotated[
    float, typer.Option(help="Minimum Jaccard (4-word shingles) for two passages to count as copies.")
]


@contextmanager
def _errors() -> Iterator[None]:
    """Propscope errors become one red line and exit code 1 (2 for usage errors)."""
    try:
        yield
    except PropscopeError as exc:
        err.print(f"[red]error[/red] {exc}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(2 if isinstance(exc, UsageError) else 1) from exc


def _progress(description: str) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def _reuse(store: Store, threshold: float) -> ReuseReport:
    with _progress("indexing") as progress:
        task = progress.add_task("indexing", total=None)
        report = find_reuse(store, threshold, on_progress=lambda n: progress.advance(task, n))
    index = report.to_json()["index"]
    err.print(
        f"index: {report.hashed} new documents hashed, {report.documents} indexed, "
        f"{report.passages} passages ({index['index_bytes'] / 1e6:.1f} MB in memory); "
        f"{len(report.groups)} shared-passage groups, {len(report.duplicates)} near-duplicate groups"
    )
    return report


def _short(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@corpus_app.command("reuse")
def reuse_command(
    db: Db = None,
    as_json: JsonFlag = False,
    threshold: Threshold = PASSAGE_JACCARD,
    limit: Annotated[int, typer.Option(help="Groups shown in the table (JSON has all).")] = 30,
) -> None:
    """Find passages shared between documents (indexing new documents first)."""
    with _errors(), Store.open(db) as store:
        report = _reuse(store, threshold)
    if as_json:
        _print_json(report.to_json())
        return
    table = Table("#", "outlets", "docs", "first", "spread", "passage")
    for i, group in enumerate(report.groups[:limit], 1):
        spread = format_duration(group.spread) if group.spread is not None else "-"
        first = f"{group.first.outlet or '?'}\n{group.first.published or 'undated'}"
        table.add_row(
            str(i), str(len(group.outlets)), str(len(group.documents)), first, spread, _short(group.passage)
        )
    out.print(table)


@corpus_app.command("coordination")
def coordination_command(
    db: Db = None,
    min_outlets: Annotated[
        int,
        typer.Option(min=2, help="Distinct outlets a burst needs (default 3: two is ordinary syndication)."),
    ] = DEFAULT_MIN_OUTLETS,
    window: Annotated[
        str | None,
        typer.Option(
            help="Time the outlets must publish within, e.g. 90m, 72h, 3d "
            "(default: estimated from the corpus, and printed)."
        ),
    ] = None,
    as_json: JsonFlag = False,
    graphml: Annotated[Path | None, typer.Option(help="Write the outlet graph as GraphML here.")] = None,
    graph_json: Annotated[Path | None, typer.Option(help="Write the outlet graph as JSON here.")] = None,
    threshold: Threshold = PASSAGE_JACCARD,
) -> None:
    """Flag passages published by several outlets within a short window: coordinated campaigns."""
    with _errors():
        given = parse_duration(window) if window else None
        with Store.open(db) as store:
            report = coordinate(_reuse(store, threshold).groups, min_outlets, given)
    err.print(
        f"window {format_duration(report.window.value)} ({report.window.note}); min outlets {min_outlets}"
    )
    _write_graph(report, graphml, graph_json)
    if as_json:
        _print_json(report.to_json())
    else:
        _campaign_table(report)


def _write_graph(report: CoordinationReport, graphml: Path | None, graph_json: Path | None) -> None:
    import networkx as nx

    if graphml:
        nx.write_graphml(report.graph, graphml)
        err.print(f"outlet graph written to {graphml}")
    if graph_json:
        graph_json.write_text(json.dumps(report.to_json()["graph"], indent=2))
        err.print(f"outlet graph written to {graph_json}")


def _campaign_table(report: CoordinationReport) -> None:
    table = Table("#", "outlets", "first outlet", "start", "span", "passage")
    for i, campaign in enumerate(report.campaigns, 1):
        span = format_duration(campaign.end - campaign.start)
        table.add_row(
            str(i),
            str(len(campaign.outlets)),
            campaign.outlets[0],
            campaign.start.isoformat(timespec="minutes"),
            span,
            _short(campaign.passage, 70),
        )
    out.print(table)
    out.print(f"{len(report.campaigns)} campaigns")


def outlets_command(
    db: Db = None,
    compare_with: Annotated[
        tuple[str, str] | None, typer.Option("--compare", help="Two outlets side by side.")
    ] = None,
    plots_dir: Annotated[
        Path | None, typer.Option("--plots", help="Write charts (PNG, SVG, Vega-Lite JSON) here.")
    ] = None,
    as_json: JsonFlag = False,
    no_reuse: Annotated[bool, typer.Option("--no-reuse", help="Skip reuse counts (no indexing).")] = False,
) -> None:
    """Profile outlets: articles, technique rates, narratives, blamed actors, reuse, by month."""
    with _errors(), Store.open(db) as store:
        groups = [] if no_reuse else _reuse(store, PASSAGE_JACCARD).groups
        profiles = build_profiles(store.iter_results(), groups, load_sightings(store))
        chosen = _chosen(profiles, compare_with)
    data: dict[str, Any] = compare(*chosen) if compare_with else {"outlets": [p.to_json() for p in chosen]}
    if plots_dir:
        data["plots"] = [str(p) for p in _plots(chosen, plots_dir, bool(compare_with))]
    if as_json:
        _print_json(data)
    else:
        _profile_table(chosen)


def _chosen(profiles: dict[str, OutletProfile], pair: tuple[str, str] | None) -> list[OutletProfile]:
    if not pair:
        return list(profiles.values())
    missing = [name for name in pair if name not in profiles]
    if missing:
        known = ", ".join(list(profiles)[:10]) or "none"
        raise typer.BadParameter(f"no outlet named {missing[0]!r} in the store (some are: {known})")
    return [profiles[pair[0]], profiles[pair[1]]]


def _plots(profiles: list[OutletProfile], folder: Path, pair: bool) -> list[Path]:
    from propscope.corpus import plots  # matplotlib loads only when charts are asked for

    name = "compare-" + "-vs-".join(plots.slug(p.outlet) for p in profiles) if pair else "techniques"
    paths = plots.technique_chart(profiles, folder, name)
    for profile in profiles:
        paths += plots.month_chart(profile, folder, f"{plots.slug(profile.outlet)}-months")
    err.print(f"{len(paths)} chart files written to {folder}")
    return paths


def _profile_table(profiles: list[OutletProfile]) -> None:
    table = Table(
        "outlet",
        "articles",
        "techniques /1k words",
        "top technique",
        "top narrative",
        "top blamed",
        "copied from / by others",
    )
    for p in profiles:
        data = p.to_json()
        rates = data["technique_rates"]
        top = f"{max(rates, key=rates.get)} ({max(rates.values())})" if rates else "-"
        narrative = data["top_narratives"][0]["narrative"] if data["top_narratives"] else "-"
        blamed = data["top_blamed"][0]["actor"] if data["top_blamed"] else "-"
        table.add_row(
            p.outlet,
            str(p.articles),
            f"{data['technique_rate']:.2f}",
            top,
            narrative,
            blamed,
            f"{p.reuse_in} / {p.reuse_out}",
        )
    out.print(table)


def batch_command(
    inputs: Annotated[list[str], typer.Argument(help="Files, directories or URLs to analyse.")],
    engine: Annotated[str, typer.Option(help="local (process pool) or ray (Ray Data actors).")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address HOST:PORT (default: start a local Ray).")
    ] = None,
    db: Db = None,
    analyzers: Annotated[
        str | None, typer.Option(help="Comma-separated analyser names (default: all installed).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0, help="Worker processes or actors (default: CPU count; 0 = in this process, local only)."
        ),
    ] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Documents per task.")] = 32,
    as_json: JsonFlag = False,
    errors_out: Annotated[
        Path | None, typer.Option(help="Write the per-document error report here as JSONL.")
    ] = None,
) -> None:
    """Analyse a corpus into the store, resumably: finished documents are skipped on a rerun."""
    names = [n.strip() for n in analyzers.split(",") if n.strip()] if analyzers else None
    with _errors(), _progress("analysing") as progress:
        task = progress.add_task("analysing", total=None)
        report = run_batch(
            inputs,
            engine,
            address,
            db,
            names,
            workers,
            chunk=chunk,
            on_total=lambda n: progress.update(task, total=n),
            on_advance=_advancer(progress, task),
        )
    for failure in report.failures:
        err.print(f"[red]failed[/red] {failure.message}", markup=True, highlight=False, soft_wrap=True)
    err.print(
        f"{report.analysed} analysed, {report.skipped} already done, {report.failed} failed "
        f"({report.documents} documents, {report.seconds:.1f}s, engine {engine})"
    )
    if errors_out:
        errors_out.write_text("".join(json.dumps(f.to_json()) + "\n" for f in report.failures))
    if as_json:
        _print_json(report.to_json())
    raise typer.Exit(report.exit_code)


def _advancer(progress: Progress, task: Any) -> Callable[[int], None]:
    return lambda n: progress.advance(task, n)
