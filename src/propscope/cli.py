"""The `propscope` command: parses arguments and calls the public API, nothing more.

Exit codes: 0 all documents done; 1 some failed (the rest were processed and stored, and an error
report was printed); 2 usage error.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
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

from propscope import profiles, registry, render
from propscope._cli_options import (
    E_RANGE,
    INTERACTIVE_DEFAULT_HELP,
    MODEL_HELP,
    PROFILE_HELP,
    fraction,
    int_range,
    relative_glob,
    writable_file,
)
from propscope._terminal import console, json_safe, labelled, line, printable
from propscope.annotation import formats
from propscope.annotation.commands import agreement_command, import_command
from propscope.api import Failure, RunReport, run
from propscope.config import FieldMap, IngestOptions
from propscope.corpus.commands import batch_command, corpus_app, outlets_command
from propscope.document import Result
from propscope.errors import AnnotationError, PropscopeError, UsageError
from propscope.pipeline import DEFAULT_BATCH_SIZE, Pipeline
from propscope.store import Store
from propscope.store.store import EXPORT_PAGE
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
    profile: Annotated[
        str | None, typer.Option(help=PROFILE_HELP.format(default=INTERACTIVE_DEFAULT_HELP))
    ] = None,
    model: Annotated[Path | None, typer.Option(help=MODEL_HELP)] = None,
) -> None:
    """Analyse articles and print what they do, with evidence."""
    if fmt not in render.FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(render.FORMATS)}")
    options = _ingest_options(ctx.params)
    names = [n.strip() for n in analyzers.split(",") if n.strip()] if analyzers else None
    try:
        pipeline = Pipeline.from_names(names, profile, model, profiles.interactive_default())
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


EXPORT_HELP = " | ".join((*render.EXPORT_FORMATS, *formats.EXPORTERS))


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help=EXPORT_HELP)] = "jsonl",
    db: DbOption = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.", callback=writable_file)
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="At most this many documents (default: all).", callback=int_range(1))
    ] = None,
    offset: Annotated[int, typer.Option(help="Skip this many.", callback=int_range(0))] = 0,
    outlet: Annotated[str | None, typer.Option(help="Only this outlet.")] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Only documents whose title or text contains this.")
    ] = None,
) -> None:
    """Export stored documents with their analyses: all of them by id, or, with a filter, the
    ones `propscope list` shows with the same filters, newest first.

    labelstudio, doccano, inception and displacy write the model's spans for review in those
    tools (docs/annotation.md); labelstudio also writes its labelling config beside --out.
    """
    if fmt not in (*render.EXPORT_FORMATS, *formats.EXPORTERS):
        raise typer.BadParameter(f"--format must be one of {EXPORT_HELP.replace(' |', ',')}")
    if fmt in formats.BINARY and output is None:
        raise typer.BadParameter(AnnotationError.E_NEEDS_OUT.format(name=fmt, kind=formats.BINARY[fmt]))
    store = _open_store(db)
    results = _export_results(store, limit, offset, outlet, query)
    try:
        data = _export_bytes(fmt, results)
    except PropscopeError as exc:
        raise _fail(exc) from exc
    if output is None:
        _write(data.decode("utf-8"))
        if fmt == "labelstudio":
            err.print("The labelling config is written beside the tasks when you give --out FILE.")
        return
    output.write_bytes(data)
    for path, content in formats.sidecars(fmt, output).items():
        path.write_bytes(content)
        err.print(line(f"wrote {path}"))


def _export_bytes(fmt: str, results: Iterable[Result]) -> bytes:
    if fmt in formats.EXPORTERS:
        return formats.EXPORTERS[fmt](results)
    writer = {"jsonl": render.to_jsonl, "semeval": render.to_semeval, "csv": render.to_csv}[fmt]
    return writer(results).encode("utf-8")


def _export_results(
    store: Store, limit: int | None, offset: int, outlet: str | None, query: str | None
) -> Iterator[Result]:
    """Every stored result by id; with a filter, the documents `list` pages through, in its order."""
    if limit is None and not offset and outlet is None and not query:
        yield from store.iter_results()
        return
    done = 0
    while limit is None or done < limit:
        page = EXPORT_PAGE if limit is None else min(EXPORT_PAGE, limit - done)
        rows = store.list(limit=page, offset=offset + done, outlet=outlet, query=query)
        yield from (store.get(row.id) for row in rows)
        done += len(rows)
        if len(rows) < page:
            return


@train_app.command("techniques")
def train_techniques(
    output: Annotated[Path, typer.Option("--out", help="Folder for the trained model.")],
    data: Annotated[
        Path | None, typer.Option(help="PTC folder: train-articles/, train-task2-TC.labels, dev …")
    ] = None,
    from_store: Annotated[
        bool,
        typer.Option(help="Fine-tune the profile's shipped model on the store's human layers instead."),
    ] = False,
    db: DbOption = None,
    annotator: Annotated[
        str | None, typer.Option(help="With --from-store: only this annotator's reviews.")
    ] = None,
    also_ptc: Annotated[
        Path | None, typer.Option(help="With --from-store: also train on this PTC folder's train split.")
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="With --from-store: the profile to start from (default: fast).")
    ] = None,
    holdout: Annotated[
        float,
        typer.Option(help="With --from-store: share of reviewed documents held out to score on.",
                     callback=fraction),
    ] = 0.25,
    epochs: Annotated[
        int | None,
        typer.Option(help="Passes over the training windows (default 2; 3 with --from-store).",
                     callback=int_range(1)),
    ] = None,
    max_articles: Annotated[
        int | None, typer.Option(help="Use only this many articles (smoke runs).", callback=int_range(1))
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after this many optimiser steps.", callback=int_range(1))
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.", callback=int_range(0, SEED_MAX))] = 13,
) -> None:
    """Fine-tune the technique model (SI + TC heads on one encoder) and export it to ONNX.

    With --from-store: start from the profile's shipped model, train on the human layers in the
    store (plus --also-ptc), hold out --holdout of the reviewed documents and print SI/TC F1 of
    the shipped and the new model on them. Without: train from the base encoder on --data.
    """
    try:
        from propscope.training import from_store as retrain
        from propscope.training.techniques import train_command
    except ImportError as exc:
        message = f"E401 training needs the train extra: pip install '.[train]' ({exc})"
        raise _fail(UsageError(message), 2) from exc
    if not from_store:
        if data is None:
            raise typer.BadParameter("give --data PTC_FOLDER, or --from-store --db URL")
        train_command(data, output, epochs or 2, max_articles, max_steps, seed)
        return
    options = retrain.FromStoreOptions(
        profile=profile, annotator=annotator, also_ptc=also_ptc, holdout=holdout,
        epochs=epochs or retrain.EPOCHS, max_steps=max_steps, seed=seed,
    )
    try:
        retrain.check_retrainable(_model_dir(profile, None))  # E411/E412/E415 before the store opens
    except UsageError as exc:
        raise _fail(exc, 2) from exc
    try:
        report = retrain.train_from_store(_open_store(db), output, options)
    except PropscopeError as exc:
        raise _fail(exc) from exc
    for row in retrain.format_report(report).splitlines():
        err.print(line(row))
    err.print(line(f"model written to {output}: use --model {output}"))


@eval_app.command("ptc")
def eval_ptc(
    articles: Annotated[Path, typer.Option(help="Folder of articleNNN.txt files.")],
    si_labels: Annotated[Path, typer.Option(help="SI gold: article_id<TAB>start<TAB>end.")],
    tc_labels: Annotated[Path, typer.Option(help="TC gold: article_id<TAB>technique<TAB>start<TAB>end.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    predictions_out: Annotated[Path | None, typer.Option(help="Write si-/tc-predictions.txt here.")] = None,
    model: Annotated[Path | None, typer.Option(help=MODEL_HELP)] = None,
    profile: Annotated[str | None, typer.Option(help=PROFILE_HELP.format(default="fast"))] = None,
) -> None:
    """Score the technique model on a PTC-format split (SemEval-2020 Task 11 metrics).

    Scores the model the `techniques` analyser would use: --model, else
    $PROPSCOPE_TECHNIQUES_MODEL, else the profile's bundled one.
    """
    from propscope.eval.ptc import eval_ptc_command

    eval_ptc_command(articles, si_labels, tc_labels, as_json, predictions_out, _model_dir(profile, model))


def _model_dir(profile: str | None, model: Path | None) -> Path:
    """The model folder of `--profile`/`--model` (profiles.model_dir); refusals exit 2."""
    try:
        return profiles.model_dir(profile, model)
    except PropscopeError as exc:
        raise _fail(exc, 2) from exc


@eval_app.command("checkworthy")
def eval_checkworthy(
    tsv: Annotated[Path, typer.Option(help="CheckThat! file: Sentence_id<TAB>Text<TAB>class_label.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    predictions_out: Annotated[
        Path | None,
        typer.Option(help="Write one line per sentence here: Sentence_id<TAB>Yes|No<TAB>score."),
    ] = None,
    profile: Annotated[str | None, typer.Option(help=PROFILE_HELP.format(default="fast"))] = None,
    model: Annotated[Path | None, typer.Option(help=MODEL_HELP)] = None,
) -> None:
    """Score the `claims` analyser's check-worthiness head: F1 of the positive class."""
    from propscope.eval.checkworthy import eval_checkworthy_command

    folder = _model_dir(profile, model)
    _write(eval_checkworthy_command(tsv, as_json, predictions_out, folder) + "\n")


@eval_app.command("framing")
def eval_framing(
    documents: Annotated[Path, typer.Option(help="Folder of the Task 10 subtask-1 articles.")],
    mentions: Annotated[Path, typer.Option(help="article_id<TAB>mention<TAB>start<TAB>end (end inclusive).")],
    predictions_out: Annotated[Path, typer.Option(help="Write one subtask-1 prediction line per mention.")],
    profile: Annotated[str | None, typer.Option(help=PROFILE_HELP.format(default="fast"))] = None,
    gold: Annotated[Path | None, typer.Option(help="Subtask-1 gold of those mentions: print scores.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Frame SemEval-2025 Task 10 entity mentions (main and fine roles); with --gold, print
    exact match ratio, fine-role micro-F1, main-role accuracy and macro-F1."""
    from propscope.eval.framing import eval_framing_command

    folder = _model_dir(profile, None)
    try:
        report = eval_framing_command(documents, mentions, predictions_out, folder, gold, as_json)
    except PropscopeError as exc:
        raise _fail(exc, 2) from exc
    _write(report + "\n")


@eval_app.command("narrative-taxonomy")
def eval_narrative_taxonomy(
    documents: Annotated[Path, typer.Option(help="Folder of Task 10 subtask-2 articles (<article_id>.txt).")],
    predictions_out: Annotated[
        Path, typer.Option(help="Write article_id<TAB>narratives<TAB>subnarratives lines here.")
    ],
    profile: Annotated[str | None, typer.Option(help=PROFILE_HELP.format(default="fast"))] = None,
    gold: Annotated[
        Path | None, typer.Option(help="Subtask-2 gold of the same articles: print the scores.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Classify SemEval-2025 Task 10 articles into its narratives and subnarratives; with
    --gold, print samples-F1 on narratives (coarse) and subnarratives (fine). Lines are sorted
    by article id, or in the gold file's order with --gold."""
    from propscope.eval.narrative_taxonomy import eval_narrative_taxonomy_command

    folder = _model_dir(profile, None)
    try:
        report = eval_narrative_taxonomy_command(documents, predictions_out, folder, gold, as_json)
    except PropscopeError as exc:
        raise _fail(exc, 2) from exc
    _write(report + "\n")


@eval_app.command("narratives")
def eval_narratives(
    shared: Annotated[
        Path | None, typer.Option(help="The shared folder holding data/euvsdisinfo (default ../shared).")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="The euvsdisinfo folder, or its cases CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    analyzer: Annotated[
        str, typer.Option(help="narratives | narratives_minilm | narratives_shared")
    ] = "narratives",
) -> None:
    """Score a narrative catalogue matcher on EUvsDisinfo's held-out cases: top-1/top-3, abstention, ECE."""
    from propscope.eval.narratives import eval_narratives_command

    try:
        report = eval_narratives_command(shared, data, as_json, analyzer)
    except UsageError as exc:
        raise _fail(exc, 2) from exc
    except PropscopeError as exc:
        raise _fail(exc) from exc
    _write(report + "\n")


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
app.command("import")(import_command)
eval_app.command("agreement")(agreement_command)
app.add_typer(eval_app, name="eval")


def main() -> None:
    app()


__all__ = ["Failure", "app", "main"]
