"""The lecture hall in a real browser (JupyterLab + headless Chromium, as in test_browser.py).

* A notebook with the presentation setting on, at 1024x768 (a projector): the RoundPlayer, the
  AcceptanceRuleExplorer and the SpeedupCalculator are measured - text scaled, the player's
  controls on one line, every slider value on screen, no chart over its labels - and
  screenshotted to ``artifacts/browser/``.
* A notebook saved WITH its outputs is reopened without running it: each RoundPlayer's static
  copy of its round is visible (not just "Error displaying widget: model not found").
* The RoundPlayer under present(True) at 1024x768 with JupyterLab's file browser open: the
  chart's text as large on screen as the text around it (>= 18 px, measured from the SVG the
  browser shows), the proposals' verdict column in view, the K label and the costs caption
  scaled and readable, ←, →, space working with the mouse over the player once "⌨ keys" is
  on, tooltips on the buttons.
* The exported page: the projector toggle scales its text and chart, and puts one round's chart
  above the fold at 1024x768; ←, →, space and P work; a page exported under present(True) and
  switched back with P is back to its notebook sizes.

Skipped (or failed under SPECVIZ_REQUIRE_BROWSER=1) without Chromium, like test_browser.py.
"""

import json
import urllib.request

import pytest

from test_browser import PANEL, _artifacts, _run_all, browser, lab  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1024, "height": 768}


def _projector_page(browser):
    """A 1024x768 page and the list its JavaScript errors are collected into."""
    page = browser.new_page(viewport=PROJECTOR)
    page.set_default_timeout(60_000)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    return page, errors


def _notebook(*cells) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "specviz", "display_name": "specviz (Python 3)",
                                        "language": "python"}},
            "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}",
                       "metadata": {}, "outputs": [], "source": source}
                      for i, source in enumerate(cells)]}


def _put(base, token, name, notebook) -> None:
    """Write a notebook into the server's folder (Jupyter's contents API)."""
    request = urllib.request.Request(
        f"{base}/api/contents/{name}?token={token}", method="PUT",
        data=json.dumps({"type": "notebook", "format": "json", "content": notebook}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        assert r.status in (200, 201)


def _open(page, base, token, name) -> None:
    page.goto(f"{base}/lab/tree/{name}?token={token}")
    page.wait_for_selector(f"{PANEL} .jp-Cell")
    page.wait_for_function(
        "document.querySelector('#jp-main-statusbar')?.textContent.includes('| Idle')")


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not displayed"
    return box


def _overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or
                a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


# Chart text as drawn on screen: each <text> of the chart's SVG at its font size times the
# image's displayed width over the SVG's own (viewBox) width; works for <img> and inline <svg>.
CHART_TEXT_PX = """async (e) => {
    let svg = e.tagName.toLowerCase() === "svg" ? e : null;
    if (!svg) {
        const src = e.getAttribute("src"), data = src.slice(src.indexOf(",") + 1);
        const text = /;base64,/.test(src) ? atob(data) : decodeURIComponent(data);
        svg = new DOMParser().parseFromString(text, "image/svg+xml").documentElement;
    }
    const width = parseFloat(svg.getAttribute("viewBox").split(/[ ,]+/)[2]);
    const shown = e.getBoundingClientRect().width / width;
    const sizes = [...svg.querySelectorAll("text")].map(t => parseFloat(
        t.style.fontSize || t.getAttribute("font-size")) * shown);
    return {count: sizes.length, min: Math.min(...sizes), max: Math.max(...sizes),
            shown: e.getBoundingClientRect().width, natural: width * 96 / 72};
}"""

LECTURE = ("import specviz\nfrom specviz import examples\nfrom specviz.views.console import print_trace\n"
           "from specviz import AcceptanceRuleExplorer, RoundPlayer, SpeedupCalculator\n"
           "specviz.present(True)",
           'RoundPlayer(examples.load("sky-blue-k5"))',
           "AcceptanceRuleExplorer()",
           "SpeedupCalculator()",
           'print_trace(examples.load("sky-blue-k5"), colour=False)')


def test_presentation_setting_at_1024x768(lab, browser):
    """Fails if present(True) leaves notebook-size text, if the player's controls wrap, if a
    calculator slider's value is off screen or covered, if a chart overlaps its neighbours, or
    if the live player shows its static copy too."""
    base, token = lab
    _put(base, token, "lecture.ipynb", _notebook(*LECTURE))
    page, errors = _projector_page(browser)
    try:
        _open(page, base, token, "lecture.ipynb")
        _run_all(page)
        text = page.inner_text(PANEL)
        assert "Traceback" not in text, text[text.find("Traceback") - 500:][:3000]
        player = page.locator(f"{PANEL} .specviz-round-player").first
        player.locator("img").first.wait_for()
        calc = page.locator(f"{PANEL} .specviz-speedup-calculator").first
        calc.locator("img").first.wait_for()
        rule = page.locator(f"{PANEL} .specviz-rule-explorer").first
        rule.locator("img").nth(1).wait_for()
        page.wait_for_timeout(500)                       # let the images lay out
        player.scroll_into_view_if_needed()
        page.screenshot(path=str(_artifacts() / "projector_round_player.png"))

        # text scaled: 13 px x 1.6, the header 14 x 1.6, the widgets' own labels 13 x 1.6
        size = lambda loc: loc.evaluate("e => getComputedStyle(e).fontSize")
        assert size(player.locator(".sv-text")) == "21px"
        assert size(player.locator(".sv-header")) == "22px"
        assert size(player.locator(".widget-label").first) == "21px"
        # the controls: each row on one line, inside the player; the slider's track long
        frame = _box(player)
        for part in (".widget-play", ".widget-slider"):
            row = player.locator(".widget-hbox").filter(has=page.locator(part)).last
            boxes = row.locator(":scope > *").evaluate_all(
                "es => es.map(e => e.getBoundingClientRect().toJSON())")
            assert max(b["top"] for b in boxes) < min(b["bottom"] for b in boxes), boxes
            assert max(b["right"] for b in boxes) <= frame["x"] + frame["width"] + 1, boxes
        track = _box(player.locator(".widget-slider .noUi-target, .widget-slider .slider").first)
        assert track["width"] >= 0.4 * frame["width"], (track, frame)
        # the live player hides its static copy
        assert page.locator(f"{PANEL} .sv-static").first.bounding_box() is None
        # charts do not cover the text, table or controls around them
        image = _box(player.locator("img").first)
        for part in (".sv-text", ".sv-proposals", ".widget-play"):
            assert not _overlap(image, _box(player.locator(part).first)), part

        # every chart drawn for the column it is shown in: its text >= 18 px on screen
        for name, chart in (("player", player.locator(".widget-output img").first),
                            ("calculator", calc.locator("img").first),
                            ("rule", rule.locator("img").nth(0)),
                            ("simulation", rule.locator("img").nth(1))):
            measured = chart.evaluate(CHART_TEXT_PX)
            print(name, "chart text on screen:", measured)
            assert measured["count"] > 5 and measured["min"] >= 18, (name, measured)

        calc.scroll_into_view_if_needed()
        page.screenshot(path=str(_artifacts() / "projector_calculator.png"))
        chart = _box(calc.locator("img").first)
        readouts = calc.locator(".widget-readout")
        assert readouts.count() >= 3
        for j in range(readouts.count()):
            if not readouts.nth(j).is_visible():
                continue
            box = _box(readouts.nth(j))
            assert box["width"] > 10 and box["x"] + box["width"] <= PROJECTOR["width"], box
            assert not _overlap(box, chart), (box, chart)
            assert readouts.nth(j).evaluate("e => e.scrollWidth <= e.clientWidth + 1")

        rule.scroll_into_view_if_needed()
        page.screenshot(path=str(_artifacts() / "projector_rule_explorer.png"))
        images = [_box(rule.locator("img").nth(j)) for j in range(2)]
        assert not _overlap(*images)
        assert not _overlap(images[0], _box(rule.locator(".sv-rule")))
        assert size(rule.locator(".sv-rule")) == "19px"
        values = rule.locator(".widget-vslider .widget-readout")
        clipped = values.evaluate_all("es => es.filter(e => e.scrollWidth > e.clientWidth + 1)"
                                      ".map(e => e.textContent)")
        assert values.count() == 10 and clipped == [], clipped     # every p_T, p_S value whole
        assert not errors, errors
    finally:
        page.close()


PLAYER = ("import specviz\nfrom specviz import RoundPlayer, examples\nspecviz.present(True)",
          'player = RoundPlayer(examples.load("sky-blue-sampled-k5"))\nplayer')


def test_round_player_on_a_projector_with_the_sidebar_open(lab, browser):
    """Fails if under present(True), at 1024x768 with the file browser open, the player's chart
    text is under 18 px on screen (a wide image shrunk), the verdict column is cut off, the K
    label or the costs caption is not scaled or wraps a word per line, the keys ← → space do
    nothing with the mouse over the player, or the play / step buttons have no tooltip."""
    base, token = lab
    _put(base, token, "projector.ipynb", _notebook(*PLAYER))
    page, errors = _projector_page(browser)
    try:
        _open(page, base, token, "projector.ipynb")
        page.evaluate("window.jupyterapp.commands.execute('filebrowser:activate')")
        page.wait_for_function("!window.jupyterapp.shell.leftCollapsed")
        _run_all(page)
        text = page.inner_text(PANEL)
        assert "Traceback" not in text, text[text.find("Traceback") - 500:][:3000]
        player = page.locator(f"{PANEL} .specviz-round-player").first
        chart = player.locator(".widget-output img, .widget-output svg").first
        chart.wait_for()
        page.wait_for_timeout(500)
        header = player.locator(".sv-header")
        header.scroll_into_view_if_needed()
        page.screenshot(path=str(_artifacts() / "projector_sidebar_round_player.png"))
        frame = _box(player)
        assert frame["width"] < 700, frame                       # the sidebar is open

        # the chart: drawn for the column, its text as large as the HTML text around it
        measured = chart.evaluate(CHART_TEXT_PX)
        print("chart text on screen:", measured)
        assert measured["count"] > 20 and measured["min"] >= 18, measured
        assert measured["shown"] <= frame["width"] + 1, measured
        chart.scroll_into_view_if_needed()
        page.screenshot(path=str(_artifacts() / "projector_sidebar_chart.png"))

        # the table: every column in view, the verdicts whole
        table = player.locator(".sv-proposals")
        box = player.locator(".widget-html:has(.sv-proposals)").first
        verdicts = table.locator("tr.sv-row > td:nth-child(8)")
        assert verdicts.count() >= 1
        right = _box(box)["x"] + _box(box)["width"]
        for j in range(verdicts.count()):
            cell = _box(verdicts.nth(j))
            assert cell["x"] + cell["width"] <= right + 1, (cell, right)
        assert box.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        table.scroll_into_view_if_needed()
        page.screenshot(path=str(_artifacts() / "projector_sidebar_table.png"))
        # the K label scaled; the costs caption a few lines at most, not a word per line
        size = lambda loc: loc.evaluate("e => getComputedStyle(e).fontSize")
        assert size(player.locator(".sv-k").first) == "19px"
        caption = _box(player.locator(".sv-costs-label"))
        assert caption["width"] > 200 and caption["height"] < 4 * 19 * 1.5, caption
        print("caption:", caption)

        # tooltips on play / previous / next
        title = lambda sel: player.locator(sel).first.evaluate(
            "e => (e.closest('[title]') || {}).title || ''")
        assert "space" in title(".widget-play button")
        assert "←" in title("button:has-text('prev')")
        assert "→" in title("button:has-text('next')")

        # keys, once switched on, with the mouse over the player
        player.locator("button:has-text('keys')").click()
        page.wait_for_function(f"document.querySelector('{PANEL} .specviz-round-player "
                               "button.mod-active')?.textContent.includes('keys')")
        header.scroll_into_view_if_needed()
        hover = _box(header)
        page.mouse.move(2, PROJECTOR["height"] / 2)       # off the player and back onto it
        page.mouse.move(hover["x"] + hover["width"] / 2, hover["y"] + hover["height"] / 2)
        page.wait_for_timeout(300)
        def shows(n):     # each key's round drawn before the next key (the kernel queues them)
            page.wait_for_function(f"document.querySelector('{PANEL} .specviz-round-player "
                                   f".sv-header').textContent.startsWith('Round {n} of')",
                                   timeout=20_000)

        for key, n in (("ArrowRight", 2), ("ArrowRight", 3), ("ArrowLeft", 2)):
            page.keyboard.press(key)
            shows(n)
        page.keyboard.press(" ")                                  # play ...
        shows(3)
        page.keyboard.press(" ")                                  # ... and pause
        page.wait_for_timeout(2500)                               # a tick under way may land
        stopped = header.inner_text()
        page.wait_for_timeout(3000)
        assert header.inner_text() == stopped
        assert not errors, errors
    finally:
        page.close()


SAVED = ('from specviz import RoundPlayer, examples\n'
         'player = RoundPlayer(examples.load("sky-blue-k5"), charts=False)\nplayer',
         "player.show_round(3)")


def test_a_saved_notebook_reopens_with_its_rounds_visible(lab, browser, tmp_path):
    """Fails if a notebook saved with its outputs reopens with nothing but "Error displaying
    widget: model not found" where a player was (and if the copy shows an old round)."""
    import nbformat
    from nbclient import NotebookClient

    from specviz import examples

    base, token = lab
    notebook = nbformat.from_dict(_notebook(*SAVED))
    NotebookClient(notebook, kernel_name="python3", timeout=120).execute()
    notebook.metadata.pop("widgets", None)       # JupyterLab does not save widget state
    _put(base, token, "prepared.ipynb", json.loads(nbformat.writes(notebook)))
    page = browser.new_page(viewport=PROJECTOR)
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{base}/lab/tree/prepared.ipynb?token={token}")
        page.wait_for_selector(f"{PANEL} .jp-Cell")
        static = page.locator(f"{PANEL} .sv-static").first
        static.wait_for(state="visible")
        rounds = len(examples.load("sky-blue-k5").rounds)     # the recording the player shows
        assert static.locator(".sv-header").inner_text().startswith(f"Round 4 of {rounds}")
        assert static.locator(".sv-tok").count() > 10 and static.locator(".sv-proposals").count()
        colour = static.locator(".sv-tok.sv-accepted").first.evaluate(
            "e => getComputedStyle(e).borderBottomColor")
        assert colour == "rgb(44, 160, 44)"                       # still coloured: accepted
        page.screenshot(path=str(_artifacts() / "reopened_notebook.png"))
    finally:
        page.close()


def test_exported_page_projector_toggle_and_keys(browser, tmp_path):
    """Fails if the page's projector button or the keys ← → space P do nothing, or if at
    1024x768 the scaled page overflows sideways or its chart covers the text."""
    from specviz import examples
    from specviz.views.html import export_html

    path = export_html(examples.load("sky-blue-k5"), tmp_path / "run.html")
    page = browser.new_page(viewport=PROJECTOR)
    page.set_default_timeout(30_000)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(path.as_uri())
        page.wait_for_function("window.svReady === true")
        size = lambda sel: page.eval_on_selector(sel, "e => getComputedStyle(e).fontSize")
        assert size("#sv-text") == "13px" and page.evaluate("window.svPresent") is None
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert page.evaluate("window.svRound") == 2
        page.keyboard.press("ArrowLeft")
        assert page.evaluate("window.svRound") == 1
        assert page.inner_text("#sv-header").startswith(f"Round 2 of {len(examples.load('sky-blue-k5').rounds)}")
        page.keyboard.press(" ")                                  # play ...
        page.wait_for_function("window.svRound >= 2", timeout=10_000)
        page.keyboard.press(" ")                                  # ... and pause
        stopped = page.evaluate("window.svRound")
        page.wait_for_timeout(1500)
        assert page.evaluate("window.svRound") == stopped
        page.keyboard.press("p")
        assert page.evaluate("window.svPresent") is True
        assert size("#sv-text") == "20.8px" and size("#sv-header") == "24px"
        assert page.evaluate("document.getElementById('sv-chart').layout.font.size") == \
            pytest.approx(19.2)
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= PROJECTOR["width"]
        chart = _box(page.locator("#sv-chart"))
        for part in ("#sv-text", "#sv-stats", "#sv-timeline-text", ".sv-controls"):
            assert not _overlap(chart, _box(page.locator(part).first)), part
        page.screenshot(path=str(_artifacts() / "export_html_projector.png"), full_page=True)
        # one round's chart above the fold, at every round (the text above it grows)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(_artifacts() / "export_html_projector_fold.png"))
        for _ in range(page.evaluate("SV.rounds")):
            page.wait_for_timeout(50)
            chart = _box(page.locator("#sv-chart"))
            assert chart["y"] + chart["height"] <= PROJECTOR["height"], (
                chart, page.evaluate("window.svRound"))
            assert chart["height"] >= 300, chart
            page.keyboard.press("ArrowRight")
        page.click("#sv-present")                                 # the button: back
        assert size("#sv-text") == "13px"
        assert not errors, errors
    finally:
        page.close()


def test_a_page_exported_on_a_projector_switches_back_to_notebook_sizes(browser, tmp_path):
    """Fails if a page exported under present(True) keeps projector sizes (its legend, the K
    label) after P switches the projector setting off."""
    import specviz
    from specviz import examples
    from specviz.views.html import export_html

    specviz.present(True)
    try:
        path = export_html(examples.load("sky-blue-k5"), tmp_path / "run.html")
    finally:
        specviz.present(False)
    page = browser.new_page(viewport=PROJECTOR)
    page.set_default_timeout(30_000)
    try:
        page.goto(path.as_uri())
        page.wait_for_function("window.svReady === true")
        size = lambda sel: page.eval_on_selector(sel, "e => getComputedStyle(e).fontSize")
        assert page.evaluate("window.svPresent") is True
        chart = _box(page.locator("#sv-chart"))
        assert chart["y"] + chart["height"] <= PROJECTOR["height"], chart
        big = {sel: size(sel) for sel in (".sv-legend", ".sv-k", "#sv-text")}
        assert big == {".sv-legend": "20.8px", ".sv-k": "19.2px", "#sv-text": "20.8px"}, big
        page.keyboard.press("p")
        small = {sel: size(sel) for sel in (".sv-legend", ".sv-k", "#sv-text")}
        assert small == {".sv-legend": "12px", ".sv-k": "12px", "#sv-text": "13px"}, small
        assert _box(page.locator("#sv-chart"))["height"] == 340
    finally:
        page.close()
