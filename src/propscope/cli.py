"""The `propscope` command: parses arguments and calls the public API, nothing more.

Exit codes: 0 all documents done; 1 some failed (the rest were processed and stored, and an error
report was printed); 2 usage error.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
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

from propscope import registry, render
from propscope._cli_options import E_RANGE, int_range, relative_glob, writable_file
from propscope._terminal import console, json_safe, labelled, line, printable
from propscope.api import Failure, RunReport, run
from propscope.config import FieldMap, IngestOptions
from propscope.corpus.commands import batch_command, corpus_app, outlets_command
from propscope.document import Result
from propscope.errors import PropscopeError, UsageError
from propscope.pipeline import DEFAULT_BATCH_SIZE, Pipeline
from propscope.store import Store
from propscope.web.commands import serve_command, tokens_app

app = typer.Typer(
    help="Read news articles and show, with evidence, how they try to persuade.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
train_app = typer.Typer(help="Train the bundled models (needs the train extra).", no_args_is_help=True)
eval_app = typer.Typer(help="Score the bundled models on public benchmarks.", no_args_is_help=True)
narratives_app = typer.Typer(help="Work with the narrative catalogue.", no_args_is_help=True)

# Never markup: what these print comes from the inputs (`propscope._terminal`).
out = console(soft_wrap=False)
err = console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Store URL: sqlite:///FILE or postgresql+psycopg://… "
        "(default: $PROPSCOPE_DB or a SQLite file in the user data dir).",
    ),
]
Sources = Annotated[list[str], typer.Argument(help="Files, directories, URLs, or - for stdin.")]
# Ingest options shared by `analyze` and `ingest`.
ErrorsOut = Annotated[
    Path | None, typer.Option(help="Write the per-file error report here as JSONL.", callback=writable_file)
]
TextField = Annotated[str, typer.Option(help="JSONL/CSV column with the article text.")]
TitleField = Annotated[str, typer.Option(help="JSONL/CSV column with the title.")]
AuthorField = Annotated[str, typer.Option(help="JSONL/CSV column with the author.")]
OutletField = Annotated[str, typer.Option(help="JSONL/CSV column with the outlet.")]
UrlField = Annotated[str, typer.Option(help="JSONL/CSV column with the URL.")]
PublishedField = Annotated[str, typer.Option(help="JSONL/CSV column with the ISO 8601 date.")]
Glob = Annotated[
    str, typer.Option(help="File pattern inside directories, relative to each.", callback=relative_glob)
]
MaxBytes = Annotated[int, typer.Option(help="Largest input file accepted, in bytes.", callback=int_range(1))]
Encoding = Annotated[str | None, typer.Option(help="Force this text encoding.")]
AllowPrivateUrls = Annotated[
    bool,
    typer.Option(
        help="Also fetch URLs whose host resolves to a private address: loopback (127/8, ::1), "
        "RFC 1918 (10/8, 172.16/12, 192.168/16), CGNAT (100.64/10), unique-local (fc00::/7) and "
        "other non-public ranges. Link-local and cloud-metadata addresses stay refused: see "
        "--allow-link-local-urls."
    ),
]
AllowLinkLocalUrls = Annotated[
    bool,
    typer.Option(
        help="Also fetch URLs on link-local addresses (169.254/16, fe80::/10) and cloud-metadata "
        "endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200, …). On a cloud machine these "
        "hand out its credentials."
    ),
]


def _positive_seconds(param: typer.CallbackParam, value: float | None) -> float | None:
    """A callback refusing deadlines that are not a finite number of seconds above 0 (E405)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        option = param.opts[0] if param.opts else str(param.name)
        bound = "a number of seconds above 0"
        raise typer.BadParameter(E_RANGE.format(option=option, bound=bound, value=value))
    return value


FetchDeadlineSeconds = Annotated[
    float,
    typer.Option(
        help="Give up on a URL after this many seconds in all: resolving, connecting, redirects "
        "and download together.",
        callback=_positive_seconds,
    ),
]
FetchFeedLinks = Annotated[
    bool, typer.Option(help="For feeds, fetch each item's link instead of using its summary.")
]


SEED_MAX = 2**32 - 1  # numpy's and torch's seeds are unsigned 32-bit

_FIELD_NAMES = ("text", "title", "author", "outlet", "url", "published")  # FieldMap order


def _ingest_options(params: dict[str, Any]) -> IngestOptions:
    """The ingest options of `analyze` and `ingest`, read from the command's parsed parameters."""
    fields = FieldMap(*(params[f"{name}_field"] for name in _FIELD_NAMES))
    return IngestOptions(
        max_bytes=params["max_bytes"],
        encoding=params["encoding"],
        fields=fields,
        glob=params["glob"],
        allow_private_urls=params["allow_private_urls"],
        allow_link_local_urls=params["allow_link_local_urls"],
        fetch_deadline=params["fetch_deadline"],
        fetch_feed_links=params["fetch_feed_links"],
    )


def _fail(exc: PropscopeError, code: int = 1) -> typer.Exit:
    err.print(labelled("error", exc), soft_wrap=True)
    return typer.Exit(code)


def _open_store(db: str | None) -> Store:
    try:
        return Store.open(db)
    except PropscopeError as exc:
        raise _fail(exc) from exc


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[progress.data.speed]{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _report(report: RunReport, errors_out: Path | None) -> None:
    """The error report file first (the durable record), then a line per failure, then counts."""
    if errors_out:
        errors_out.write_text("".join(json.dumps(f.to_json()) + "\n" for f in report.failures))
    for failure in report.failures:
        err.print(labelled("failed", failure.message), soft_wrap=True)
    summary = f"{report.analysed or report.stored} done, {len(report.failures)} failed"
    if report.stored:
        summary += f", {report.stored} stored"
    if report.skipped_duplicates:
        summary += f", {report.skipped_duplicates} duplicates skipped"
    err.print(summary)


def _emitter(fmt: str) -> tuple[Callable[[Result], None], Callable[[], None]]:
    """How each result is printed as it arrives, and what is printed at the end."""
    collected: list[Result] = []
    if fmt == "text":
        return (lambda r: render.print_text([r], out)), lambda: None
    if fmt in ("jsonl", "semeval"):
        writer = render.to_jsonl if fmt == "jsonl" else render.to_semeval
        return (lambda r: _write(writer([r]))), lambda: None
    if fmt == "html":
        return collected.append, lambda: _write("".join(render.to_html(r) for r in collected))

    def finish_json() -> None:
        if len(collected) == 1:
            _write(render.to_json(collected[0]) + "\n")
        else:
            results = [r.to_json() for r in collected]
            _write(json_safe(json.dumps(results, ensure_ascii=False, allow_nan=False, indent=2)) + "\n")

    return collected.append, finish_json


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _run_with_progress(
    sources: list[str],
    pipeline: Pipeline | None,
    store: Store | None,
    options: IngestOptions,
    on_result: Callable[[Result], None],
    batch_size: int,
) -> RunReport:
    with _progress() as progress:
        task = progress.add_task("analysing" if pipeline else "ingesting", total=None, rate="")

        def advance(result: Result) -> None:
            progress.advance(task)
            speed = progress.tasks[0].speed
            progress.update(task, rate=f"{speed:.1f} docs/s" if speed else "")
            on_result(result)

        try:
            return run(sources, pipeline, store, options, advance, batch_size)
        except UsageError as exc:  # options the library refuses (E410 --glob): exit 2, not a traceback
            raise _fail(exc, 2) from exc


@app.command()
def analyze(
    ctx: typer.Context,
    sources: Sources,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text | json | jsonl | semeval | html")] = "text",
    db: DbOption = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not write to the store.")] = False,
    analyzers: Annotated[
        str | None, typer.Option(help="Comma-separated analyser names (default: all installed).")
    ] = None,
    errors_out: ErrorsOut = None,
    batch_size: Annotated[
        int, typer.Option(help="Documents per model batch.", callback=int_range(1))
    ] = DEFAULT_BATCH_SIZE,
    text_field: TextField = "text",
    title_field: TitleField = "title",
    author_field: AuthorField = "author",
    outlet_field: OutletField = "outlet",
    url_field: UrlField = "url",
    published_field: PublishedField = "published",
    glob: Glob = "*",
    max_bytes: MaxBytes = IngestOptions.max_bytes,
    encoding: Encoding = None,
    allow_private_urls: AllowPrivateUrls = False,
    allow_link_local_urls: AllowLinkLocalUrls = False,
    fetch_deadline: FetchDeadlineSeconds = IngestOptions.fetch_deadline,
    fetch_feed_links: FetchFeedLinks = False,
) -> None:
    """Analyse articles and print what they do, with evidence."""
    if fmt not in render.FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(render.FORMATS)}")
    options = _ingest_options(ctx.params)
    names = [n.strip() for n in analyzers.split(",") if n.strip()] if analyzers else None
    try:
        pipeline = Pipeline.from_names(names)
    except PropscopeError as exc:
        raise _fail(exc, code=2) from exc
    store = None if no_store else _open_store(db)
    emit, finish = _emitter(fmt)
    report = _run_with_progress(sources, pipeline, store, options, emit, batch_size)
    finish()
    _report(report, errors_out)
    raise typer.Exit(report.exit_code)


@app.command()
def ingest(
    ctx: typer.Context,
    sources: Sources,
    db: DbOption = None,
    errors_out: ErrorsOut = None,
    text_field: TextField = "text",
    title_field: TitleField = "title",
    author_field: AuthorField = "author",
    outlet_field: OutletField = "outlet",
    url_field: UrlField = "url",
    published_field: PublishedField = "published",
    glob: Glob = "*",
    max_bytes: MaxBytes = IngestOptions.max_bytes,
    encoding: Encoding = None,
    allow_private_urls: AllowPrivateUrls = False,
    allow_link_local_urls: AllowLinkLocalUrls = False,
    fetch_deadline: FetchDeadlineSeconds = IngestOptions.fetch_deadline,
    fetch_feed_links: FetchFeedLinks = False,
) -> None:
    """Read articles into the store without analysing them."""
    options = _ingest_options(ctx.params)
    store = _open_store(db)
    report = _run_with_progress(sources, None, store, options, lambda r: None, DEFAULT_BATCH_SIZE)
    _report(report, errors_out)
    raise typer.Exit(report.exit_code)


@app.command("list")
def list_documents(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="How many documents.", callback=int_range(1))] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many.", callback=int_range(0))] = 0,
    outlet: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Only documents whose title or text contains this.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List stored documents, newest first."""
    store = _open_store(db)
    rows = store.list(limit=limit, offset=offset, outlet=outlet, query=query)
    if as_json:
        _write("".join(json_safe(json.dumps(row.to_json(), ensure_ascii=False)) + "\n" for row in rows))
        return
    table = Table(show_edge=False)
    for column in ("id", "published", "outlet", "title"):
        table.add_column(column)
    for row in rows:
        cells = (row.id[:12], row.published, row.outlet, row.title)
        table.add_row(*(line(cell or "") for cell in cells))
    out.print(table)
    err.print(f"{len(rows)} of {store.count()} documents")


@app.command()
def show(
    doc_id: Annotated[str, typer.Argument(metavar="ID", help="Document id or a unique prefix.")],
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text | json | html")] = "text",
) -> None:
    """Show one stored document with its analyses."""
    store = _open_store(db)
    try:
        result = store.get(doc_id)
    except PropscopeError as exc:
        raise _fail(exc) from exc
    if fmt == "json":
        _write(render.to_json(result) + "\n")
    elif fmt == "html":
        _write(render.to_html(result))
    else:
        render.print_text([result], out)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl | semeval | csv")] = "jsonl",
    db: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.", callback=writable_file)
    ] = None,
) -> None:
    """Export every stored document with its analyses."""
    if fmt not in render.EXPORT_FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(render.EXPORT_FORMATS)}")
    store = _open_store(db)
    writer = {"jsonl": render.to_jsonl, "semeval": render.to_semeval, "csv": render.to_csv}[fmt]
    text = writer(store.iter_results())
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        _write(text)


@train_app.command("techniques")
def train_techniques(
    data: Annotated[Path, typer.Option(help="PTC folder: train-articles/, train-task2-TC.labels, dev …")],
    output: Annotated[Path, typer.Option("--out", help="Folder for the trained model.")],
    epochs: Annotated[int, typer.Option(help="Passes over the training windows.", callback=int_range(1))] = 2,
    max_articles: Annotated[
        int | None, typer.Option(help="Use only this many articles (smoke runs).", callback=int_range(1))
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after this many optimiser steps.", callback=int_range(1))
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.", callback=int_range(0, SEED_MAX))] = 13,
) -> None:
    """Fine-tune the technique model (SI + TC heads on one encoder) and export it to ONNX."""
    try:
        from propscope.training.techniques import train_command
    except ImportError as exc:
        message = f"E401 training needs the train extra: pip install '.[train]' ({exc})"
        raise _fail(UsageError(message), 2) from exc
    train_command(data, output, epochs, max_articles, max_steps, seed)


@eval_app.command("ptc")
def eval_ptc(
    articles: Annotated[Path, typer.Option(help="Folder of articleNNN.txt files.")],
    si_labels: Annotated[Path, typer.Option(help="SI gold: article_id<TAB>start<TAB>end.")],
    tc_labels: Annotated[Path, typer.Option(help="TC gold: article_id<TAB>technique<TAB>start<TAB>end.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    predictions_out: Annotated[Path | None, typer.Option(help="Write si-/tc-predictions.txt here.")] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="Model folder (from `propscope train techniques`); default: bundled."),
    ] = None,
) -> None:
    """Score the technique model on a PTC-format split (SemEval-2020 Task 11 metrics).

    Scores the model the `techniques` analyser would use: --model, else
    $PROPSCOPE_TECHNIQUES_MODEL, else the bundled one.
    """
    from propscope.eval.ptc import eval_ptc_command

    eval_ptc_command(articles, si_labels, tc_labels, as_json, predictions_out, model)


@eval_app.command("checkworthy")
def eval_checkworthy(
    tsv: Annotated[Path, typer.Option(help="CheckThat! file: Sentence_id<TAB>Text<TAB>class_label.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    predictions_out: Annotated[
        Path | None, typer.Option(help="Write Sentence_id<TAB>Yes|No lines here.")
    ] = None,
) -> None:
    """Score the `claims` analyser's check-worthiness head: F1 of the positive class."""
    from propscope.eval.checkworthy import eval_checkworthy_command

    _write(eval_checkworthy_command(tsv, as_json, predictions_out) + "\n")


@narratives_app.command("discover")
def narratives_discover(
    db: DbOption = None,
    min_cluster_size: Annotated[
        int, typer.Option(help="Smallest cluster reported.", callback=int_range(2))
    ] = 3,
    export_yaml: Annotated[
        Path | None, typer.Option(help="Write draft catalogue YAML (file or folder).")
    ] = None,
) -> None:
    """Cluster the claims of a stored corpus into candidate narratives, labelled by keywords."""
    from propscope.corpus.discover import discover_command

    try:
        report = discover_command(db, min_cluster_size, export_yaml)
    except PropscopeError as exc:
        raise _fail(exc) from exc
    _write(printable(report, multiline=True) + "\n")  # claims and keywords are article text


@app.command("analyzers")
def list_analyzers() -> None:
    """List the analysers this installation can run (built-in and plug-ins)."""
    for name in registry.available():
        default = " (default)" if name in registry.default_names() else ""
        out.print(line(f"{name}{default}"))


# Sub-commands after the core ones, so `propscope --help` lists analyze first.
app.command("batch")(batch_command)
app.add_typer(corpus_app, name="corpus")
app.command("outlets")(outlets_command)
app.add_typer(narratives_app, name="narratives")
app.command("serve")(serve_command)
app.add_typer(tokens_app, name="tokens")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")


def main() -> None:
    app()


__all__ = ["Failure", "app", "main"]
