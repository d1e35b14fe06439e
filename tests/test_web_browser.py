"""The workbench in a real browser: Debian's Chromium driven by Playwright, on a live uvicorn.

Skipped, with the reason, where /usr/bin/chromium or Playwright is missing
(`apt-get install -y chromium`; no `playwright install` download is needed).
Screenshots go to artifacts/screenshots/ for CI to keep.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from _web import ARTICLE, make_app

CHROMIUM = Path(os.environ.get("PROPSCOPE_CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path(__file__).parents[1] / "artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: `apt-get install -y chromium` to run the browser tests",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' for Playwright")
uvicorn = pytest.importorskip("uvicorn")

pytestmark = pytest.mark.slow

HOSTILE = (
    "Hostile Article\n\n"
    "The enemy is EVIL, say the papers. <script>window.__xss = 1; alert('xss')</script>\n\n"
    '<img src="x" onerror="window.__xss = 2; alert(2)"> and everyone knows it.\n\n'
    '<a href="javascript:window.__xss=3;alert(3)">click here</a> to act now. '
    '<svg onload="window.__xss=4"></svg><iframe src="javascript:alert(5)"></iframe>'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """A real uvicorn serving `app` on a free loopback port, in a thread; closes the app's
    workbench when done."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not live.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        live.should_exit = True
        thread.join(timeout=10)
        app.state.bench.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The workbench with the fake analyser, live."""
    with live_server(make_app(tmp_path_factory.mktemp("browser"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def paste_and_analyse(page: Any, server: str, text: str, outlet: str = "") -> None:
    page.goto(server + "/")
    page.fill("#text", text)
    if outlet:
        page.click("summary")
        page.fill("#outlet", outlet)
    page.click("#analyze")
    page.wait_for_url("**/documents/*")


@pytest.mark.parametrize("outlet", ["Daily Example"])
def test_paste_highlight_hover_filter_and_outlet(page: Any, server: str, outlet: str) -> None:
    paste_and_analyse(page, server, ARTICLE, outlet)
    expect = sync_api.expect
    expect(page.locator("h1")).to_have_text("Ruritania Plots Again")
    expect(page.locator("#article sup.tag")).to_have_count(5)
    expect(page.locator("#article mark.t-name-calling-labeling")).to_have_count(2)
    expect(page.locator("#article mark.multi")).to_have_count(1)  # "EVIL" inside "enemy is EVIL"
    expect(page.locator('[data-count="Name_Calling,Labeling"]')).to_have_text("2")
    expect(page.locator("#shown-n")).to_have_text("5")
    shot(page, "article")

    page.locator("#article mark.t-slogans").hover()
    tip = page.locator("#tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("Slogan")
    expect(tip).to_contain_text("rallying cry")  # the definition
    expect(tip).to_contain_text("0.30")
    shot(page, "article-hover")
    page.keyboard.press("Escape")

    page.mouse.move(0, 0)
    page.locator("#article mark.hl").first.focus()  # keyboard users get the same tooltip
    expect(tip).to_be_visible()

    page.locator('input[data-technique="Name_Calling,Labeling"]').uncheck()
    expect(page.locator("#shown-n")).to_have_text("3")
    expect(page.locator("#article mark.t-name-calling-labeling")).to_have_count(0)
    page.locator("#min-score").evaluate(
        "el => { el.value = '0.6'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    expect(page.locator("#shown-n")).to_have_text("1")
    expect(page.locator("#article mark.hl")).to_have_count(1)
    shot(page, "article-filtered")

    page.locator(".panels a.jump").first.click()
    expect(page.locator("#article .focus").first).to_be_visible()

    page.click(f"text={outlet}")
    page.wait_for_url("**/outlets/*")
    expect(page.locator("h1")).to_have_text(outlet)
    expect(page.locator("figure.chart svg").first).to_be_visible()
    shot(page, "outlet")


def test_phone_width(browser: Any, server: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    paste_and_analyse(phone, server, ARTICLE.replace("Again", "Again on a phone"))
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px phone"
    shot(phone, "article-phone")
    context.close()


def test_hostile_article_renders_as_inert_text(page: Any, server: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    paste_and_analyse(page, server, HOSTILE, outlet='<img src=x onerror="window.__xss=6">')
    page.wait_for_load_state("networkidle")
    article = page.locator("#article")
    sync_api.expect(article).to_contain_text("<script>window.__xss = 1;")
    assert page.locator("#article script, #article img, #article iframe, #article svg").count() == 0
    assert page.locator('a[href^="javascript:"], iframe').count() == 0
    page.locator("#article").get_by_text("click here").click()
    page.goto(server + "/documents")
    page.goto(server + "/outlets")
    page.locator("table a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert dialogs == []
    shot(page, "hostile-outlet")


SPECIMEN = Path(__file__).parents[1] / ".." / "shared" / "examples" / "neo-kazakhstan-2022.txt"


def test_specimen_reads_with_its_metadata_and_highlights(page: Any, server: str) -> None:
    if not SPECIMEN.is_file():
        pytest.skip(f"specimen not found at {SPECIMEN.resolve()}: the shared/ examples are absent")
    paste_and_analyse(page, server, SPECIMEN.read_text(encoding="utf-8"))
    expect = sync_api.expect
    expect(page.locator("h1")).to_have_text("Kazakhstan’s Security was Undermined by Outside Forces")
    expect(page.locator(".doc-head .meta")).to_contain_text("Vladimir Platov")
    expect(page.locator(".doc-head .meta")).to_contain_text("New Eastern Outlook")
    data = page.request.get(page.url + ".json").json()
    text = data["document"]["text"]
    assert "Similar Posts" not in text and "Leave a Reply" not in text
    expected = len(re.findall(r"so-called \w+", text)) + len(re.findall(r"\bcoup\b", text))
    assert expected == len(data["techniques"]) > 0
    expect(page.locator("#article sup.tag")).to_have_count(expected)
    expect(page.locator("#shown-n")).to_have_text(str(expected))
    expect(page.locator('[data-count="Loaded_Language"]')).to_have_text(str(text.count("so-called")))
    shot(page, "specimen")
