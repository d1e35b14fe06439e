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
from rich.text import Text

from propscope._cli_options import PROFILE_HELP, fraction, int_range, writable_file
from propscope._terminal import console, json_safe, labelled, line, printable
from propscope.batch import run_batch
from propscope.corpus.coordination import DEFAULT_MIN_OUTLETS, CoordinationReport, coordinate
from propscope.corpus.durations import format_duration, parse_duration
from propscope.corpus.index import load_sightings
from propscope.corpus.outlets import OutletProfile, build_profiles, compare
from propscope.corpus.reuse import PASSAGE_SIMILARITY, ReuseReport, find_reuse
from propscope.corpus.verify import Engine
from propscope.errors import PropscopeError, UsageError
from propscope.store import Store

corpus_app = typer.Typer(
    help="Corpus-scale analysis: shared passages and coordinated publication across outlets.",
    no_args_is_help=True,
)
# Never markup: passages, outlet names and messages come from the corpus (`propscope._terminal`).
out = console(soft_wrap=False)
err = console(stderr=True, soft_wrap=True)

Db = Annotated[
    str | None,
    typer.Option("--db", help="Store URL (default: $PROPSCOPE_DB or the SQLite file in the user data dir)."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
Threshold = Annotated[
    float,
    typer.Option(
        help="Minimum alignment similarity (matched words over the longer span) of a copy, "
        "above 0 and at most 1.",
        callback=fraction,
    ),
]


@contextmanager
def _errors() -> Iterator[None]:
    """Propscope errors become one red line and exit code 1 (2 for usage errors)."""
    try:
        yield
    except PropscopeError as exc:
        err.print(labelled("error", exc), soft_wrap=True)
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
    sys.stdout.write(json_safe(json.dumps(data, ensure_ascii=False, indent=2)) + "\n")
    sys.stdout.flush()


AlignEngine = Annotated[
    str, typer.Option("--engine", help="Where candidate pairs are aligned: local (this process) or ray.")
]
Address = Annotated[
    str | None, typer.Option(help="Ray cluster address HOST:PORT (default: start a local Ray).")
]


def _reuse(store: Store, threshold: float, engine: Engine | None = None) -> ReuseReport:
    with _progress("indexing") as progress:
        task = progress.add_task("indexing", total=None)
        report = find_reuse(store, threshold, on_progress=lambda n: progress.advance(task, n), engine=engine)
    index = report.to_json()["index"]
    err.print(
        f"index: {report.hashed} new documents hashed, {report.documents} indexed, "
        f"{report.fingerprints} fingerprints ({index['index_bytes'] / 1e6:.1f} MB in memory), "
        f"{index['newly_aligned']} documents newly aligned; {len(report.groups)} shared-passage "
        f"groups, {len(report.duplicates)} near-duplicate groups, boilerplate of "
        f"{len(report.boilerplate)} outlets left out"
    )
    return report


def _short(text: str, width: int = 90) -> Text:
    flat = " ".join(text.split())
    return line(flat if len(flat) <= width else flat[: width - 1] + "…")


@corpus_app.command("reuse")
def reuse_command(
    db: Db = None,
    as_json: JsonFlag = False,
    threshold: Threshold = PASSAGE_SIMILARITY,
    limit: Annotated[
        int, typer.Option(help="Groups shown in the table (JSON has all).", callback=int_range(1))
    ] = 30,
    engine: AlignEngine = "local",
    address: Address = None,
) -> None:
    """Find passages shared between documents (indexing and aligning new documents first)."""
    with _errors(), Store.open(db) as store:
        report = _reuse(store, threshold, Engine(engine, address))
    if as_json:
        _print_json(report.to_json())
        return
    table = Table("#", "outlets", "docs", "first", "spread", "passage")
    for i, group in enumerate(report.groups[:limit], 1):
        spread = format_duration(group.spread) if group.spread is not None else "-"
        first = Text("\n").join((line(group.first.outlet or "?"), line(group.first.published or "undated")))
        table.add_row(
            str(i),
            str(len(group.outlets)),
            str(len(group.documents)),
            first,
            spread,
            _short(group.passage),
        )
    out.print(table)


@corpus_app.command("coordination")
def coordination_command(
    db: Db = None,
    min_outlets: Annotated[
        int,
        typer.Option(
            help="Distinct outlets a burst needs (default 3: two is ordinary syndication).",
            callback=int_range(2),
        ),
    ] = DEFAULT_MIN_OUTLETS,
    window: Annotated[
        str | None,
        typer.Option(
            help="Time the outlets must publish within, e.g. 90m, 72h, 3d "
            "(default: estimated from the corpus, and printed)."
        ),
    ] = None,
    as_json: JsonFlag = False,
    graphml: Annotated[
        Path | None, typer.Option(help="Write the outlet graph as GraphML here.", callback=writable_file)
    ] = None,
    graph_json: Annotated[
        Path | None, typer.Option(help="Write the outlet graph as JSON here.", callback=writable_file)
    ] = None,
    threshold: Threshold = PASSAGE_SIMILARITY,
    engine: AlignEngine = "local",
    address: Address = None,
) -> None:
    """Flag passages published by several outlets within a short window: coordinated campaigns."""
    with _errors():
        given = parse_duration(window) if window else None
        with Store.open(db) as store:
            report = coordinate(_reuse(store, threshold, Engine(engine, address)).groups, min_outlets, given)
    err.print(
        line(
            f"window {format_duration(report.window.value)} ({report.window.note}); min outlets {min_outlets}"
        )
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
        err.print(line(f"outlet graph written to {graphml}"))
    if graph_json:
        graph_json.write_text(json.dumps(report.to_json()["graph"], indent=2))
        err.print(line(f"outlet graph written to {graph_json}"))


def _campaign_table(report: CoordinationReport) -> None:
    table = Table("#", "outlets", "first outlet", "start", "span", "passage")
    for i, campaign in enumerate(report.campaigns, 1):
        span = format_duration(campaign.end - campaign.start)
        table.add_row(
            str(i),
            str(len(campaign.outlets)),
            line(campaign.outlets[0]),
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
        groups = [] if no_reuse else _reuse(store, PASSAGE_SIMILARITY).groups
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
        known = printable(", ".join(list(profiles)[:10]) or "none")
        raise typer.BadParameter(f"no outlet named {missing[0]!r} in the store (some are: {known})")
    return [profiles[pair[0]], profiles[pair[1]]]


def _plots(profiles: list[OutletProfile], folder: Path, pair: bool) -> list[Path]:
    from propscope.corpus import plots  # matplotlib loads only when charts are asked for

    name = "compare-" + "-vs-".join(plots.slug(p.outlet) for p in profiles) if pair else "techniques"
    paths = plots.technique_chart(profiles, folder, name)
    for profile in profiles:
        paths += plots.month_chart(profile, folder, f"{plots.slug(profile.outlet)}-months")
    err.print(line(f"{len(paths)} chart files written to {folder}"))
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
            line(p.outlet),
            str(p.articles),
            f"{data['technique_rate']:.2f}",
            line(top),
            line(narrative),
            line(blamed),
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
            help="Worker processes or actors (default: CPU count; 0 = in this process, local only).",
            callback=int_range(0),
        ),
    ] = None,
    chunk: Annotated[int, typer.Option(help="Documents per task.", callback=int_range(1))] = 32,
    as_json: JsonFlag = False,
    errors_out: Annotated[
        Path | None,
        typer.Option(help="Write the per-document error report here as JSONL.", callback=writable_file),
    ] = None,
    profile: Annotated[str | None, typer.Option(help=PROFILE_HELP.format(default="fast"))] = None,
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
            profile=profile,
        )
    if errors_out:  # first: the durable record
        errors_out.write_text("".join(json.dumps(f.to_json()) + "\n" for f in report.failures))
    for failure in report.failures:
        err.print(labelled("failed", failure.message), soft_wrap=True)
    err.print(
        line(
            f"{report.analysed} analysed, {report.skipped} already done, {report.failed} failed "
            f"({report.documents} documents, {report.seconds:.1f}s, engine {engine})"
        )
    )
    if as_json:
        _print_json(report.to_json())
    raise typer.Exit(report.exit_code)


def _advancer(progress: Progress, task: Any) -> Callable[[int], None]:
    return lambda n: progress.advance(task, n)
