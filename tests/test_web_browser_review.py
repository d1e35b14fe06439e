"""The article page's switch between the model's spans and a reviewer's, in a real browser.

Same set-up as test_web_browser.py (Debian's Chromium driven by Playwright on a live uvicorn,
skipped with the reason where either is missing); its own server, so the test can store a
human layer directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _web import ARTICLE, make_app
from test_web_browser import (  # noqa: F401  (browser and page are fixtures)
    browser,
    live_server,
    page,
    paste_and_analyse,
    shot,
    sync_api,
    uvicorn,
)

from propscope.annotation.records import ReviewedDocument, ReviewedSpan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A live uvicorn on a free loopback port, and its app (for the store)."""
    app = make_app(tmp_path_factory.mktemp("browser-review"))
    with live_server(app) as url:
        yield url, app


def review(text: str, doc_id: str) -> ReviewedDocument:
    """alice keeps "EVIL" and marks the whole last sentence of the first paragraph a slogan."""
    spans = []
    for phrase, label in (("EVIL", "Name_Calling,Labeling"), ("We must act now.", "Slogans")):
        start = text.index(phrase)
        spans.append(ReviewedSpan(start, start + len(phrase), label, "technique", phrase))
    return ReviewedDocument(tuple(spans), document_id=doc_id, source_format="labelstudio")


def test_toggle_shows_the_reviewers_spans(page: Any, served: tuple[str, Any]) -> None:  # noqa: F811
    url, app = served
    paste_and_analyse(page, url, ARTICLE)
    doc_id = page.url.rsplit("/", 1)[1]
    store = app.state.bench.store
    store.add_human_layer(review(store.get(doc_id).document.text, doc_id), "alice")
    page.reload()
    expect = sync_api.expect
    expect(page.locator("#article sup.tag")).to_have_count(5)  # the model's, by default
    expect(page.locator("#show-model")).to_have_attribute("aria-current", "page")
    expect(page.locator('tr[data-annotator="alice"] .tc-f1')).to_have_text("1.00")

    page.locator('nav.layers a[data-annotator="alice"]').click()
    page.wait_for_url("**spans=human**")
    expect(page.locator("#legend-h")).to_contain_text("marked by alice")
    expect(page.locator("#article sup.tag")).to_have_count(2)
    slogan = page.locator("#article mark.t-slogans")
    expect(slogan).to_have_text("We must act now.")
    expect(page.locator("#shown-n")).to_have_text("2")
    slogan.hover()
    expect(page.locator("#tip")).to_contain_text("Slogan")
    shot(page, "article-human-layer")

    page.locator('input[data-technique="Slogans"]').uncheck()  # the filters work on it too
    expect(page.locator("#shown-n")).to_have_text("1")
    page.locator("#show-model").click()
    expect(page.locator("#article sup.tag")).to_have_count(5)
