"""The template of :func:`specviz.views.html.export_html`'s page, and the one-pass filler.

The page animates a trace's rounds with no kernel and no network: play / pause, step, a slider,
the coloured text, the acceptance test (plotly, one frame per round) and - switched from a menu -
the timeline, the numbers so far and the worked speed-up under each cost model. Everything it
shows comes from the ``SV`` object that :func:`specviz.views.html.export_html` writes into it.
"""

from __future__ import annotations

import json
import re

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1100px; color: #222; padding: 0 16px; }
.sv-controls { display: flex; gap: 8px; align-items: center; margin: 12px 0; }
.sv-controls button { font-size: 15px; padding: 4px 12px; }
.sv-controls input[type=range] { flex: 1; }
.sv-meta, .sv-stats { color: #555; font-size: 13px; }
.sv-lane { display: flex; height: 16px; margin: 3px 0; background: #f4f4f4; }
.sv-lane span { display: block; height: 100%; }
.sv-lanes { display: grid; grid-template-columns: 110px 1fr; align-items: center;
            font-size: 12px; color: #444; }
details pre { font-size: 12px; background: #f6f6f6; padding: 8px; white-space: pre-wrap; }
.sv-keys { color: #777; font-size: 12px; }
/* the projector setting (button "projector", key P): every size x SV.scale */
body.sv-present { max-width: none; margin: 12px auto; }
body.sv-present h2 { font-size: calc(24px * var(--sv-scale)); }
body.sv-present .sv-meta, body.sv-present .sv-stats, body.sv-present .sv-keys,
body.sv-present .sv-lanes, body.sv-present .sv-legend { font-size: calc(13px * var(--sv-scale)) !important; }
body.sv-present .sv-legend span span { width: calc(11px * var(--sv-scale)) !important;
  height: calc(11px * var(--sv-scale)) !important; }
body.sv-present .sv-controls button, body.sv-present .sv-controls select,
body.sv-present .sv-controls label, body.sv-present #sv-label { font-size: calc(15px * var(--sv-scale)); }
body.sv-present .sv-text { font-size: calc(13px * var(--sv-scale)) !important; }
body.sv-present .sv-header { font-size: calc(15px * var(--sv-scale)) !important; }
body.sv-present details, body.sv-present details pre { font-size: calc(12px * var(--sv-scale)); }
body.sv-present .sv-lane { height: calc(16px * var(--sv-scale)); }
body.sv-present .sv-lanes { grid-template-columns: calc(110px * var(--sv-scale)) 1fr; }
body.sv-present .sv-k, body.sv-present .sv-tree-caption {
  font-size: calc(12px * var(--sv-scale)) !important; }
body.sv-present .sv-tree-how { font-size: calc(11px * var(--sv-scale)) !important; }
body.sv-present .sv-tree-svg { width: calc(var(--sv-w) * var(--sv-scale)); }
/* ... and one round's chart above the fold: the title, controls, round and text (its last
   three lines, scrolled to the round shown) first, then the chart, then the rest */
body.sv-present #sv-main { display: flex; flex-direction: column; }
body.sv-present #sv-main > * { order: 2; }
body.sv-present #sv-main > .sv-first { order: 0; }
body.sv-present #sv-chart { order: 1; }
body.sv-present h2 { margin: 4px 0; }
body.sv-present .sv-text { max-height: calc(13px * var(--sv-scale) * 2 * 3); overflow-y: auto; }
</style></head><body style="--sv-scale: __SCALE__"><div id="sv-main">
<h2 class="sv-first">__TITLE__</h2>
<div class="sv-meta sv-first">__META__</div>
<div class="sv-meta sv-first">Prompt: <i>__PROMPT__</i></div>
<div class="sv-controls sv-first">
 <button id="sv-play" title="play / pause">▶</button>
 <button id="sv-prev" title="previous round">◀ prev</button>
 <button id="sv-next" title="next round">next ▶</button>
 <input id="sv-slider" type="range" min="0" max="__LAST__" value="0" step="1">
 <span id="sv-label"></span>
 <button id="sv-present" title="projector size (key P)" aria-pressed="false">projector</button>
</div>
<div class="sv-keys">keys: ← previous · → next · space play / pause · P projector size</div>
__LEGEND__
<div id="sv-header" class="sv-header sv-first" style="font-weight: 600; margin: 10px 0 4px"></div>
<div id="sv-text" class="sv-text sv-first" style="__TEXT_STYLE__"></div>
<div id="sv-plan" class="sv-first"></div>
<div class="sv-controls"><label for="sv-costs">costs:</label> <select id="sv-costs">__OPTIONS__</select>
 <span id="sv-costs-label" class="sv-meta"></span></div>
<div id="sv-stats" class="sv-stats"></div>
<div class="sv-lanes"><span>speculative</span><div id="sv-lane-spec" class="sv-lane"></div>
 <span>target alone</span><div id="sv-lane-alone" class="sv-lane"></div></div>
<div id="sv-timeline-text" class="sv-meta"></div>
<div id="sv-chart" style="height: 340px"></div>
<details><summary>Worked speed-up calculation for this run so far</summary>
<pre id="sv-work"></pre></details></div>
<script>__PLOTLYJS__</script>
<script>
const SV = __DATA__;
(function () {
  const $ = (id) => document.getElementById(id);
  let current = 0, timer = null, fitted = 340;
  function lanes(c) {
    const C = SV.costs[c], unit = C.unit === "s" ? 1000 : 1, name = C.unit === "s" ? "ms" : "steps";
    let spent = 0, tokens = 0, total = 0;
    C.rounds.forEach((r, j) => { total += r[0] + r[1]; if (j <= current) { spent += r[0] + r[1]; tokens += r[2]; } });
    const alone = C.steps.slice(0, tokens).reduce((a, b) => a + b, 0);
    const aloneAll = C.steps.reduce((a, b) => a + b, 0), scale = 100 / Math.max(total, aloneAll, 1e-12);
    $("sv-lane-spec").innerHTML = C.rounds.map((r, j) => {
      const o = j < current ? 0.55 : (j === current ? 1 : 0.15);
      return `<span class="sv-draft" style="width:${r[0] * scale}%;background:__DRAFT__;opacity:${o}"></span>` +
             `<span class="sv-verify" style="width:${r[1] * scale}%;background:__TARGET__;opacity:${o}"></span>`;
    }).join("");
    $("sv-lane-alone").innerHTML = C.steps.length ?
      `<span style="width:${alone * scale}%;background:__TARGET__;opacity:0.55"></span>` : "";
    $("sv-timeline-text").textContent = C.steps.length ?
      `${(spent * unit).toFixed(1)} ${name} for ${tokens} tokens; the target alone ${(alone * unit).toFixed(1)} ${name}: ${(alone / spent).toFixed(2)}x (${C.kind})` :
      `${(spent * unit).toFixed(1)} ${name} for ${tokens} tokens (${C.kind})`;
  }
  function show(i) {
    current = Math.max(0, Math.min(SV.rounds - 1, i));
    const c = parseInt($("sv-costs").value, 10), C = SV.costs[c];
    $("sv-text").innerHTML = SV.committed.slice(0, current).join("") + SV.current[current];
    $("sv-text").scrollTop = $("sv-text").scrollHeight;     // projector: the round shown
    $("sv-header").textContent = SV.headers[current];
    $("sv-plan").innerHTML = SV.plans[current];
    $("sv-stats").textContent = C.stats[current];
    $("sv-work").textContent = C.work[current];
    $("sv-costs-label").textContent = C.label;
    lanes(c);
    $("sv-slider").value = current;
    $("sv-label").textContent = "round " + (current + 1) + " / " + SV.rounds;
    Plotly.animate("sv-chart", ["r" + current], {mode: "immediate",
      frame: {duration: 0, redraw: true}, transition: {duration: 0}});
    if (window.svReady) fit();          // the text above the chart may have grown
    window.svRound = current;
  }
  function stop() { clearInterval(timer); timer = null; $("sv-play").textContent = "▶"; }
  function play() {
    if (current >= SV.rounds - 1) show(0);
    $("sv-play").textContent = "❚❚";
    timer = setInterval(() => { if (current >= SV.rounds - 1) stop(); else show(current + 1); },
                        SV.interval);
  }
  $("sv-play").onclick = () => (timer ? stop() : play());
  $("sv-prev").onclick = () => { stop(); show(current - 1); };
  $("sv-next").onclick = () => { stop(); show(current + 1); };
  $("sv-slider").oninput = (e) => { stop(); show(parseInt(e.target.value, 10)); };
  $("sv-costs").onchange = () => show(current);
  function fit() {   // the chart's height; projector: what the window leaves below its top
    const on = document.body.classList.contains("sv-present");
    const top = $("sv-chart").getBoundingClientRect().top + window.scrollY;
    const height = on ? Math.round(Math.max(300, Math.min(340 * SV.scale,
                                                          window.innerHeight - top - 8))) : 340;
    if (height === fitted) return;
    fitted = height;
    $("sv-chart").style.height = height + "px";
    Plotly.relayout("sv-chart", {height: height});
  }
  function present(on) {
    document.body.classList.toggle("sv-present", on);
    $("sv-present").setAttribute("aria-pressed", String(on));
    Plotly.relayout("sv-chart", {"font.size": 12 * (on ? SV.scale : 1)});
    fit();
    window.svPresent = on;
  }
  window.addEventListener("resize", fit);
  $("sv-present").onclick = () => present(!document.body.classList.contains("sv-present"));
  document.addEventListener("keydown", (e) => {
    const t = e.target, tag = t.tagName;
    if (e.ctrlKey || e.metaKey || e.altKey || tag === "SELECT" || tag === "TEXTAREA") return;
    if (tag === "INPUT" && e.key !== " ") return;           // the slider takes its own arrows
    if (e.key === "ArrowLeft") { stop(); show(current - 1); }
    else if (e.key === "ArrowRight") { stop(); show(current + 1); }
    else if (e.key === " " && tag !== "BUTTON") { timer ? stop() : play(); }
    else if (e.key === "p" || e.key === "P") { present(!document.body.classList.contains("sv-present")); }
    else return;
    e.preventDefault();
  });
  const fig = SV.figure;
  Plotly.newPlot("sv-chart", fig.data, fig.layout, {displaylogo: false, responsive: true})
    .then(() => Plotly.addFrames("sv-chart", fig.frames))
    .then(() => { show(0); if (SV.present) present(true); window.svReady = true; });
})();
</script>
</body></html>
"""


def script_json(value) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value).replace("</", "<\\/").replace("<!--", "<\\!--")


def fill(template: str, values: dict[str, str]) -> str:
    """Replace every ``__NAME__`` of ``template`` in ONE pass: text put in is never scanned again,
    so a prompt containing ``__LEGEND__`` stays those characters.

    >>> fill("<b>__A__</b>__B__", {"A": "__B__", "B": "!"})
    '<b>__B__</b>!'
    """
    def value(match: re.Match) -> str:
        if match.group(1) not in values:
            raise KeyError(f"template placeholder __{match.group(1)}__ has no value")
        return values[match.group(1)]

    return re.sub(r"__([A-Z](?:[A-Z_]*[A-Z])?)__", value, template)


