"""`make present` in a real browser: the lecture notebook served by Voilà, at 1024x768.

The server is started with the command line of the Makefile's ``present`` recipe itself (read
with ``make -n present``), so the test cannot drift from the target; only the interpreter is
this one (``make lock`` runs the suite in another venv). It runs from a folder holding a
hostile ``voila.py`` and Jupyter config that try to switch the token off and listen on every
address: they must change nothing.

* A request without the token, or with a wrong one, is refused, and the server listens on
  127.0.0.1 only.
* No code: no editor, no input area, no line of any code cell on the page.
* The RoundPlayer is live: its next button and the arrow key on its slider change the round.
* Text sizes on a projector: the player's text and the smallest text of its chart, in CSS
  pixels as drawn (goal: 18 px or more). Screenshots go to ``artifacts/browser/``.

Skipped (or failed under SPECVIZ_REQUIRE_BROWSER=1) without Chromium, like test_browser.py;
the checks of bad input to ``specviz.serve`` at the end need no browser.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from test_browser import ROOT, _artifacts, _free_port, _stop, _unavailable, browser  # noqa: F401

PROJECTOR = {"width": 1024, "height": 768}
LECTURE = os.environ.get("SPECVIZ_PRESENT_NOTEBOOK", "notebooks/10_lecture.ipynb")
RENDER_TIMEOUT = 300          # seconds: Voilà runs the whole notebook before the page is whole
GOAL_PX = 18                  # the smallest chart text a back row can read on a projector
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)")
# What a careless personal config could do; the server must ignore all of it.
HOSTILE = ("c.Voila.token = ''\nc.Voila.ip = '0.0.0.0'\nc.Voila.open_browser = True\n"
           "c.VoilaConfiguration.strip_sources = False\n"
           "c.IdentityProvider.token = ''\nc.ServerApp.ip = '0.0.0.0'\n")


def present_command(notebook: Path, port: int) -> list[str]:
    """The ``present`` recipe's command line for ``notebook`` and ``port``, from the Makefile."""
    make = shutil.which("make")
    if make is None:
        _unavailable("make not found; `make present` needs it")
    out = subprocess.run([make, "-n", "-s", "present", f"NOTEBOOK={notebook}", f"PORT={port}"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    (line,) = [x for x in out.splitlines() if "-m specviz.serve" in x]
    argv = shlex.split(line)
    if argv[0] == "exec":
        argv = argv[1:]
    assert argv[0] == ".venv/bin/python", argv      # the project's venv; here: this interpreter
    return [sys.executable, *argv[1:]]


@pytest.fixture(scope="module")
def present(browser, tmp_path_factory):
    """`make present` on a copy of the notebooks; yields (url with token, port, server pid)."""
    tmp = tmp_path_factory.mktemp("present")
    root = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns("exports", ".ipynb_*"))
    if not (ROOT / LECTURE).is_file():
        pytest.fail(f"{LECTURE} not found: `make present` serves it")
    notebook = root / Path(LECTURE).name
    shutil.copy(ROOT / LECTURE, notebook)     # (SPECVIZ_PRESENT_NOTEBOOK: one from elsewhere)
    (tmp / "voila.py").write_text(HOSTILE)                     # in the working folder
    (tmp / "voila.json").write_text(json.dumps({"Voila": {"token": "", "ip": "0.0.0.0"}}))
    config = tmp / "config"                                    # and in Jupyter's config path
    config.mkdir()
    for name in ("voila.py", "jupyter_server_config.py", "jupyter_config.py"):
        (config / name).write_text(HOSTILE)
    # The notebooks ask for the "specviz" kernel (`make setup` installs it); provide it here as
    # this interpreter, as test_browser.py does.
    kernel = tmp / "data" / "kernels" / "specviz"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "specviz (Python 3)", "language": "python"}))
    env = os.environ | {"JUPYTER_CONFIG_DIR": str(config), "JUPYTER_PATH": str(tmp / "data"),
                        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "HF_HUB_OFFLINE": "1",
                        "SPECVIZ_SMALL": os.environ.get("SPECVIZ_SMALL", "1")}
    env.pop("JUPYTER_TOKEN", None)
    command = present_command(notebook, _free_port())
    log_path = tmp / "server.log"
    log = open(log_path, "w")
    server = subprocess.Popen(command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"make present exited early:\n{log_path.read_text()[-3000:]}")
            found = URL.search(log_path.read_text())
            if found and _status(f"http://127.0.0.1:{found.group(1)}/login") == 200:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"make present did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield found.group(0), int(found.group(1)), server.pid
    finally:
        _stop(server)
        log.close()
        shutil.copy(log_path, _artifacts() / "present-server.log")


def _status(url: str) -> int:
    """The HTTP status of a GET, redirects not followed (0: no answer)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


@pytest.mark.browser
def test_present_refuses_requests_without_the_token_and_listens_on_localhost_only(present):
    """Fails if the page, its kernels or its files answer without the token (a hostile
    voila.py and voila.json in the working folder and in Jupyter's config path set it to ''),
    or if the server listens on anything but 127.0.0.1."""
    import psutil

    url, port, pid = present
    base = f"http://127.0.0.1:{port}"
    token = url.split("token=", 1)[1]
    assert len(token) >= 32, token
    for path in ("/", "/?token=wrong", "/api/kernels", "/voila/api/contents",
                 f"/voila/files/{Path(LECTURE).name}"):
        # 302 to the login page or 403; never the page or the file
        assert _status(base + path) in (302, 403), path
    # (with the token the page opens: the next test)
    listening = {c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN}
    assert listening == {"127.0.0.1"}, listening


@pytest.mark.browser
def test_present_shows_live_widgets_and_no_code_at_1024x768(present, browser):
    """Fails if any code reaches the page, if the RoundPlayer is not live (its next button and
    the slider's arrow key must change the round), or if its text is too small to read on a
    projector; the chart's smallest text is measured and must be at least GOAL_PX."""
    url, _port, _pid = present
    page = browser.new_page(viewport=PROJECTOR)
    page.set_default_timeout(60_000)
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(url, timeout=RENDER_TIMEOUT * 1000)
        player = page.locator(".specviz-round-player").first
        player.wait_for(timeout=RENDER_TIMEOUT * 1000)
        text = page.inner_text("body")
        assert "Traceback" not in text and "error when executing" not in text, text[:3000]
        _assert_no_code(page)
        page.screenshot(path=str(_artifacts() / "present_top.png"))

        first, total = map(int, re.match(r"Round (\d+) of (\d+)",
                                         player.locator(".sv-header").inner_text()).groups())
        assert first + 2 <= total, f"the first player shows round {first} of {total}"
        shows = """n => document.querySelector('.specviz-round-player .sv-header')
                             .textContent.startsWith(`Round ${n} of `)"""
        player.locator("button", has_text="next").click()
        page.wait_for_function(shows, arg=first + 1)
        player.locator(".widget-slider .noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(shows, arg=first + 2)
        image = player.locator("img").first
        image.wait_for()
        page.wait_for_timeout(1000)                      # let the round's figure land
        player.scroll_into_view_if_needed()
        page.screenshot(path=str(_artifacts() / "present_round_player.png"))
        image.scroll_into_view_if_needed()
        page.screenshot(path=str(_artifacts() / "present_chart.png"))
        # the static copy a saved notebook shows stays hidden while the live player works
        assert page.locator(".sv-static").evaluate_all(
            "es => es.filter(e => e.getClientRects().length > 0).length") == 0

        size = lambda loc: float(loc.evaluate("e => getComputedStyle(e).fontSize")[:-2])
        sizes = {"text": size(player.locator(".sv-text")),
                 "header": size(player.locator(".sv-header")),
                 "labels": size(player.locator(".widget-label").first),
                 "chart (smallest)": _chart_text_px(page, player, round_index=first + 1)}
        print(f"present mode at 1024x768, text sizes in CSS px: {sizes}", file=sys.stderr)
        (_artifacts() / "present_text_sizes.json").write_text(json.dumps(sizes, indent=1))
        assert page.evaluate("document.documentElement.scrollWidth") <= PROJECTOR["width"]
        assert not errors, errors
        low = {k: v for k, v in sizes.items() if v < GOAL_PX}
        assert not low, f"text under {GOAL_PX} px on a projector: {low} (all: {sizes})"
    finally:
        page.close()


def _assert_no_code(page) -> None:
    """No editor or input area, and no line of any code cell of the notebook, on the page."""
    import nbformat

    # (markdown cells keep their input area: it holds their rendered text)
    for selector in (".jp-CodeCell .jp-InputArea", ".jp-CodeCell .jp-Cell-inputWrapper",
                     ".jp-CodeMirrorEditor", ".cm-editor", ".CodeMirror", ".jp-InputPrompt",
                     ".input_area"):
        assert page.locator(selector).count() == 0, selector
    shown = page.content()
    notebook = nbformat.read(ROOT / LECTURE, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            line = line.strip()
            if len(line) >= 12 and not line.startswith("#"):
                assert line not in shown, f"code on the page: {line}"


def _chart_text_px(page, player, round_index: int) -> float:
    """The smallest text of the player's chart for round ``round_index``, in CSS px as drawn."""
    image = player.locator("img").first
    src = image.get_attribute("src") or ""
    drawn = image.evaluate("e => [e.getBoundingClientRect().width, e.naturalWidth]")
    ratio = drawn[0] / drawn[1]
    print(f"chart drawn {drawn[0]:.0f} px wide, {drawn[1]} px in the image", file=sys.stderr)
    if src.startswith("data:image/svg"):
        # an SVG chart: draw its markup inline at the image's size and measure every text there
        return page.evaluate("""([src, width]) => {
            const svg = new DOMParser().parseFromString(
                src.startsWith('data:image/svg+xml;base64,') ? atob(src.split(',')[1])
                    : decodeURIComponent(src.split(',')[1]), 'image/svg+xml').documentElement;
            const box = document.createElement('div');
            box.style.cssText = `position: absolute; left: 0; top: 0; width: ${width}px`;
            svg.setAttribute('width', width); svg.removeAttribute('height');
            box.appendChild(document.importNode(svg, true)); document.body.appendChild(box);
            const sizes = [...box.querySelectorAll('text')].filter(t => t.textContent.trim())
                .map(t => { const m = t.getScreenCTM();
                            return parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b); });
            box.remove();
            return Math.min(...sizes);
        }""", [src, drawn[0]])
    assert src.startswith("data:image/png"), src[:40]
    return _png_chart_text_px(page, player, round_index) * ratio


def _png_chart_text_px(page, player, round_index: int) -> float:
    """The smallest text of the same round's PNG chart in image pixels: the player the page
    shows, built again here (the same example trace, found by what the page says, at the same
    scale) with matplotlib's savefig observed to read each text's size in points at its dpi."""
    import matplotlib.figure
    from matplotlib.text import Text

    from specviz import RoundPlayer, examples
    from specviz.views.presentation import scaled_class

    info = " ".join(player.locator(".widget-html-content").filter(
        has_text=" · prompt: ").first.inner_text().split())
    rounds = int(re.search(r"Round \d+ of (\d+)", player.locator(".sv-header").inner_text())[1])
    found = []
    for name in examples.names():
        trace = examples.load(name)
        plan = trace.draft_plan or f"K = {trace.k}"
        if (len(trace.rounds) == rounds and info.startswith(
                f"{trace.target_name} + {trace.draft_name} · {plan} · temperature "
                f"{trace.temperature:g} · prompt: {' '.join(trace.prompt.split())}")):
            found.append(trace)
    assert found, f"the player's run is not one of specviz.examples: {info!r}"
    classes = player.get_attribute("class").split()
    (scale,) = [s / 100 for s in range(50, 401) if scaled_class(s / 100) in classes]
    saved = []
    original = matplotlib.figure.Figure.savefig

    def savefig(fig, *args, **kwargs):
        dpi = kwargs.get("dpi") or fig.dpi
        points = [t.get_fontsize() for t in fig.findobj(Text)
                  if t.get_visible() and t.get_text().strip()]
        saved.append(min(points) * dpi / 72)
        return original(fig, *args, **kwargs)

    measured = []
    matplotlib.figure.Figure.savefig = savefig
    try:
        for trace in found:
            built = RoundPlayer(trace, scale=scale)      # draws round 1 ...
            saved.clear()
            built.show_round(round_index)                # ... and this round: measured
            measured += saved
    finally:
        matplotlib.figure.Figure.savefig = original
    assert measured, "the player drew no chart"
    return min(measured)


@pytest.mark.parametrize("name, content, says", [
    ("missing.ipynb", None, "missing.ipynb not found; make present NOTEBOOK="),
    ("notes.txt", "{}", "notes.txt is not a notebook (.ipynb); make present NOTEBOOK="),
    ("broken.ipynb", "{not json", "broken.ipynb is not a readable notebook: Expecting"),
])
def test_present_refuses_what_is_not_a_notebook(tmp_path, capsys, name, content, says):
    """Fails if a wrong NOTEBOOK= starts a server, or stops without saying what to pass."""
    from specviz import serve

    if content is not None:
        (tmp_path / name).write_text(content)
    assert serve.main([str(tmp_path / name), "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err
    assert says in err, err


def test_present_config_is_localhost_with_a_token_and_reads_no_files():
    from specviz import serve

    config = serve.voila_config("t" * 43, 8890)
    assert (config.Voila.ip, config.Voila.token, config.Voila.config_file_paths) == (
        "127.0.0.1", "t" * 43, [])
    assert config.VoilaConfiguration.strip_sources is True
    assert config.PasswordIdentityProvider.allow_password_change is False
    with pytest.raises(ValueError, match="token must not be empty"):
        serve.voila_config("", 8890)
