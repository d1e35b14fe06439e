"""The REST API under /api: analyse, list and read documents, corpus views, export.

Read endpoints need the reader role (anonymous on loopback); `POST /api/analyze` needs an
analyst token sent as `Authorization: Bearer TOKEN`, never a cookie, so no other site can make a
visitor's browser post to it.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from propscope import render
from propscope.document import Result
from propscope.errors import WebError
from propscope.web import corpus
from propscope.web.auth import Principal, require
from propscope.web.inputs import check_batch_alone, check_item, check_items
from propscope.web.jobs import JobRunner
from propscope.web.queries import Filters, list_documents
from propscope.web.service import Workbench, links, result_json

JSON = dict[str, Any]
PAGE_MAX = 200
OFFSET_MAX = 10_000_000  # past any real corpus; bigger numbers overflow SQLite integers
ERRORS = {
    code: {"description": text, "content": {"application/json": {"example": {
        "error": {"code": example, "message": f"{example} …", "status": code}}}}}
    for code, text, example in (
        (400, "Malformed body, or a Host header this server does not answer to (E600, E613, "
              "E618).", "E600"),
        (401, "No token, or an unknown one (E601/E602).", "E601"),
        (403, "The token's role is too low (E603).", "E603"),
        (413, "Body over the size limit (E606).", "E606"),
        (404, "No such document, outlet, narrative or job (E301, E605, E609).", "E605"),
        (422, "Invalid input (E600, E610, E617, E619, ingest errors E010-E033).", "E600"),
        (429, "Too many requests from this address or token (E616); see Retry-After.", "E616"),
        (503, "Busy: too many analyses waiting (E608), the analysis worker stopped (E625), or "
              "the server is shutting down (E627).", "E608"),
        (504, "The analysis took too long (E607).", "E607"),
    )
}

router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)  # type: ignore[arg-type]
Reader = Annotated[Principal, Depends(require("reader"))]
Analyst = Annotated[Principal, Depends(require("analyst", allow_cookie=False))]


class Article(BaseModel):
    """One article: exactly one of text, html or url, plus optional metadata overrides."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, description="Plain article text (boilerplate is stripped).")
    html: str | None = Field(None, description="An HTML page; the main text is extracted.")
    url: str | None = Field(None, description="An http(s) URL; private addresses are refused.")
    title: str | None = None
    author: str | None = None
    outlet: str | None = None
    published: str | None = Field(None, description="ISO 8601 date or time.")


class AnalyzeRequest(Article):
    """One article (answered at once), or `documents`: a batch (answered with a job id)."""

    documents: list[Article] | None = Field(None, description="A batch of articles.")


def _bench(request: Request) -> Workbench:
    bench: Workbench = request.app.state.bench
    return bench


async def _in_thread(request: Request, item: JSON) -> Result:
    """Read the item in a thread, then wait for its lane's worker process without holding one."""
    bench = _bench(request)
    timeout = bench.settings.analyze_timeout_s
    try:
        with anyio.fail_after(timeout):
            doc = await anyio.to_thread.run_sync(bench.document_from, item, abandon_on_cancel=True)
            return await asyncio.wrap_future(bench.submit(doc, timeout))
    except TimeoutError as exc:
        raise WebError(WebError.E_TIMEOUT.format(seconds=timeout), 504) from exc


EXAMPLE_RESULT = {
    "schema": "propscope/1",
    "document": {"id": "83b47a5ff737b60863cc", "title": "A title", "author": None, "outlet": None,
                 "url": None, "published": None, "language": "en", "source": "<api>", "meta": {},
                 "text": "The enemy is EVIL and everyone knows it."},
    "techniques": [{"start": 13, "end": 17, "text": "EVIL", "technique": "Name_Calling,Labeling",
                    "score": 0.91}],
    "claims": [], "entities": [], "narratives": [], "stats": {"words": 8},
    "analyzers": {"stats": "stats-1", "techniques": "…"},
    "links": {"html": "/documents/83b47a5ff737b60863cc", "json": "/documents/83b47a5ff737b60863cc.json"},
}
ANALYZE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The `propscope analyze --format json` object, stored, plus `links`.",
          "content": {"application/json": {"example": EXAMPLE_RESULT}}},
    202: {"description": "A batch was queued: poll `links.self`.",
          "content": {"application/json": {"example": {
              "job": "5f2c9a0e1b7d4c3a", "status": "queued", "total": 2, "done": 0,
              "documents": [], "errors": [], "links": {"self": "/api/jobs/5f2c9a0e1b7d4c3a"}}}}},
}


@router.post("/analyze", summary="Analyse one article, or queue a batch", responses=ANALYZE_RESPONSES)
async def analyze(request: Request, body: AnalyzeRequest, _: Analyst) -> JSONResponse:
    """One article returns the `propscope/1` object plus `links`; a batch returns a job."""
    if body.documents is not None:
        check_batch_alone(body.model_dump(exclude_none=True))
        limit = _bench(request).settings.batch_limit
        if not 0 < len(body.documents) <= limit:
            raise WebError(WebError.E_BATCH.format(limit=limit, got=len(body.documents)), 422)
        items = [d.model_dump(exclude_none=True) for d in body.documents]
        check_items(items)
        runner: JobRunner = request.app.state.jobs
        job = await anyio.to_thread.run_sync(runner.submit, items)  # stored before the answer
        return JSONResponse(job, status_code=202)
    item = body.model_dump(exclude_none=True, exclude={"documents"})
    check_item(item)
    result = await _in_thread(request, item)
    return JSONResponse(result_json(result))


@router.get("/jobs/{job_id}", summary="Progress of a batch job")
async def job(request: Request, job_id: str, _: Reader) -> JSON:
    """The job's status, how many articles are done, stored documents and per-article errors."""
    runner: JobRunner = request.app.state.jobs
    return await anyio.to_thread.run_sync(runner.get, job_id)


def document_page(bench: Workbench, f: Filters, limit: int, offset: int) -> JSON:
    """A page of the document list, with links to each document and to the next page."""
    rows, total = list_documents(bench.store.engine, f, limit, offset)
    for row in rows:
        row["links"] = links(row["id"])
    more = offset + limit < total
    return {"documents": rows, "total": total, "limit": limit, "offset": offset,
            "filters": f.to_json(), "next_offset": offset + limit if more else None}


DateParam = Annotated[str | None, Query(description="YYYY-MM-DD (inclusive).",
                                        json_schema_extra={"format": "date"})]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        reason = f"{name}={value!r} is not a date such as 2022-01-05"
        raise WebError(WebError.E_INVALID.format(reason=reason), 422) from exc


async def filters(
    outlet: str | None = None, since: DateParam = None, until: DateParam = None,
    technique: str | None = None, narrative: str | None = None,
    q: str | None = Query(None, max_length=500),
) -> Filters:
    """The list filters as query parameters (dates as YYYY-MM-DD, both ends inclusive)."""
    first, last = _day(since, "since"), _day(until, "until")
    end = f"{last.isoformat()}T23:59:59.999999" if last else None
    return Filters(outlet, first.isoformat() if first else None, end, technique, narrative, q)


@router.get("/documents", summary="Stored documents, newest first, filtered and paged")
async def documents(
    request: Request, _: Reader, f: Annotated[Filters, Depends(filters)],
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
) -> JSON:
    """Summaries (no text) with links; `total` and `next_offset` for paging."""
    return await anyio.to_thread.run_sync(document_page, _bench(request), f, limit, offset)


@router.get("/documents/{doc_id}", summary="One stored document with all its analyses")
async def document(request: Request, doc_id: str, _: Reader) -> JSONResponse:
    """The `propscope/1` object of a stored document (id or unique prefix) plus links."""
    result = await anyio.to_thread.run_sync(_bench(request).store.get, doc_id)
    return JSONResponse(result_json(result))  # already JSON types: skip FastAPI's re-encoding


@router.get("/outlets", summary="Outlets with their article counts")
async def outlets(request: Request, _: Reader) -> JSON:
    """Every outlet with its article count and first/last publication date."""
    return {"outlets": await anyio.to_thread.run_sync(corpus.outlets, _bench(request))}


@router.get("/outlets/{outlet:path}", summary="An outlet's profile: technique mix, over time, narratives")
async def outlet(request: Request, outlet: str, _: Reader) -> JSON:
    """Technique mix and rates, articles per month, top narratives, actors blamed, reuse."""
    return await anyio.to_thread.run_sync(corpus.outlet_profile, _bench(request), outlet)


@router.get("/compare", summary="Two outlets side by side (technique rates per 1,000 words)")
async def compare(request: Request, _: Reader, a: str, b: str) -> JSON:
    """Both outlet profiles and the per-technique rate difference (a minus b)."""
    return await anyio.to_thread.run_sync(corpus.compare_outlets, _bench(request), a, b)


@router.get("/narratives", summary="Narratives found across the stored documents")
async def narratives(request: Request, _: Reader) -> JSON:
    """Each narrative found in stored articles, with its outlets and months."""
    return {"narratives": await anyio.to_thread.run_sync(corpus.narratives, _bench(request))}


@router.get("/narratives/{narrative_id:path}", summary="One narrative: its articles and outlets")
async def narrative(request: Request, narrative_id: str, _: Reader) -> JSON:
    """One narrative with the articles that serve it (score, outlet, date)."""
    return await anyio.to_thread.run_sync(corpus.narrative, _bench(request), narrative_id)


@router.get("/reuse", summary="Shared passages across documents and coordinated campaigns")
async def reuse(request: Request, _: Reader) -> JSON:
    """Groups of documents sharing a passage, coordinated campaigns and the outlet graph."""
    return await anyio.to_thread.run_sync(corpus.reuse, _bench(request))


EXPORT_TYPES = {"jsonl": "application/x-ndjson", "semeval": "text/plain", "csv": "text/csv"}


def export_text(bench: Workbench, fmt: str, doc_id: str | None) -> str:
    """All stored results (or one) in an export format."""
    writer = {"jsonl": render.to_jsonl, "semeval": render.to_semeval, "csv": render.to_csv}[fmt]
    results = [bench.store.get(doc_id)] if doc_id else bench.store.iter_results()
    return writer(results)


@router.get("/export", summary="Export stored documents as jsonl, semeval or csv",
            response_class=PlainTextResponse, responses={200: {"content": {
                "application/x-ndjson": {}, "text/csv": {}, "text/plain": {}}}})
async def export(
    request: Request, _: Reader,
    fmt: Annotated[Literal["jsonl", "semeval", "csv"], Query(alias="format")] = "jsonl",
    doc_id: Annotated[str | None, Query(alias="id", description="Only this document.")] = None,
) -> Response:
    """All stored documents (or `id`) as JSON lines, SemEval-2020 TC lines or CSV."""
    text = await anyio.to_thread.run_sync(export_text, _bench(request), fmt, doc_id)
    extension = {"jsonl": "jsonl", "semeval": "txt", "csv": "csv"}[fmt]
    headers = {"content-disposition": f'attachment; filename="propscope.{extension}"'}
    return Response(text, media_type=EXPORT_TYPES[fmt], headers=headers)


@router.get("/health", summary="Liveness: the store answers")
async def health(request: Request) -> JSON:
    """Answers when the server and its store are up (no authentication)."""
    await anyio.to_thread.run_sync(_bench(request).store.count)
    return {"status": "ok"}
