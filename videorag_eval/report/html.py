"""Static HTML: ``index.html`` (every table and plot) and one page per cell listing its questions.

No framework; one small inline script per page (the question filters; a marker of loaded images)."""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path

from ..scoring.headline import task_label
from .analysis import Analysis
from .cells import Cell, Skipped
from .plots import slug
from .summary import official_script
from .tables import Table

STYLE = """
body{font-family:DejaVu Sans,Arial,sans-serif;margin:1.2em;color:#222;font-size:14px}
table{border-collapse:collapse;margin:.6em 0 1.2em}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#eef}
tr:nth-child(even) td{background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:12px;max-width:70em}
.plots img{max-width:100%;border:1px solid #ddd;margin:4px 0}
.ok{color:#070}.bad{color:#b00}
.filters button{margin-right:.4em}
.filters button.on{background:#335;color:#fff}
pre{white-space:pre-wrap;margin:0;font-size:12px;max-width:50em}
details summary{cursor:pointer;color:#335}
"""

IMAGES_JS = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', ok + '/' + imgs.length);
});
"""

FILTER_JS = """
function show(kind) {
  var rows = document.querySelectorAll('tr.q');
  var shown = 0;
  rows.forEach(function (r) {
    var on = kind === 'all' || r.classList.contains(kind);
    r.style.display = on ? '' : 'none';
    if (on) shown++;
  });
  document.querySelectorAll('.filters button').forEach(function (b) {
    b.classList.toggle('on', b.getAttribute('data-kind') === kind);
  });
  document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' questions shown';
}
window.addEventListener('load', function () { show(location.hash ? location.hash.slice(1) : 'all'); });
"""


def page_name(cell_rel: str) -> str:
    return "cells/" + slug(cell_rel.replace(os.sep, "__")) + ".html"


def _head(title: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>")


def table_html(table: Table, css_row: str = "", link_col: int | None = None) -> str:
    parts = [f"<h3>{escape(table.title)}</h3>", "<table><thead><tr>"]
    parts += [f"<th>{escape(h)}</th>" for h in table.header]
    parts.append("</tr></thead><tbody>")
    for i, row in enumerate(table.rows):
        parts.append(f"<tr class='{css_row}'>" if css_row else "<tr>")
        for j, value in enumerate(row):
            text = escape(value)
            if (i, j) in table.bold and value:
                text = f"<b>{text}</b>"
            if link_col is not None and j == link_col and table.links and table.links[i]:
                text = f"<a href='{escape(page_name(table.links[i]))}'>{text}</a>"
            num = value.replace(".", "", 1).replace("+", "", 1).replace("-", "", 1).split(" ")[0].isdigit() if value else False
            parts.append(f"<td class='num'>{text}</td>" if num else f"<td>{text}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if table.note:
        parts.append(f"<p class='note'>{escape(table.note)}</p>")
    return "".join(parts)


def write_index(analysis: Analysis, tables: dict, plots: list[Path], skipped: list[Skipped], out: Path,
                results_dir: Path, files: list[str]) -> Path:
    abl: Table = tables["ablation"]
    parts = [_head("videorag_eval report"), "<h1>videorag_eval report</h1>",
             f"<p>{len(analysis.cells)} finished cell(s) from <code>{escape(str(results_dir))}</code>.</p>"]
    if skipped:
        parts.append(f"<p class='bad'>{len(skipped)} cell(s) not reported (not finished or unreadable):</p><ul>")
        parts += [f"<li><code>{escape(s.rel)}</code>: {escape(s.reason)}</li>" for s in skipped]
        parts.append("</ul>")
    if analysis.notes:
        parts.append("<details><summary>notes on pairing and checks</summary><ul>")
        parts += [f"<li>{escape(n)}</li>" for n in analysis.notes]
        parts.append("</ul></details>")
    parts.append("<h2 id='ablation'>Ablation</h2>")
    parts.append(table_html(abl, css_row="cell-row", link_col=len(abl.header) - 1))
    parts.append("<h2 id='plots'>Plots</h2><div class='plots'>")
    for p in plots:
        parts.append(f"<div><img src='{escape(p.name)}' alt='{escape(p.stem)}'></div>")
    parts.append("</div>")
    parts.append(attribution_html(tables.get("attribution") or []))
    parts.append("<h2 id='paper'>Paper-style table</h2>" + table_html(tables["paper"]))
    parts.append("<h2 id='categories'>Per-category tables</h2>")
    for task, tlist in tables["categories"].items():
        parts.append(f"<h3>{escape(task_label(task))}</h3>" + "".join(table_html(t) for t in tlist))
    parts.append("<h2>Files</h2><ul>" + "".join(f"<li><a href='{escape(f)}'>{escape(f)}</a></li>" for f in files) + "</ul>")
    parts.append(f"<script>{IMAGES_JS}</script></body></html>")
    path = out / "index.html"
    path.write_text("".join(parts), encoding="utf-8")
    return path


def attribution_html(tables: list) -> str:
    """The attribution tables (``attribution.py``), each with the sweep lines of its missing arms."""
    from .attribution import as_table, missing_lines

    parts = ["<h2 id='attribution'>Where the gain comes from</h2>"]
    if not tables:
        parts.append("<p class='note'>no cells</p>")
    for t in tables:
        table = as_table(t)
        parts.append(table_html(table, css_row="attribution-row", link_col=len(table.header) - 1))
        lines = missing_lines(t)
        if lines:
            parts.append("<p class='note'>Missing cells (the sweep line that makes them):</p><ul class='missing'>"
                         + "".join(f"<li><code>{escape(line)}</code></li>" for line in lines) + "</ul>")
        parts += [f"<p class='note'>{escape(n)}</p>" for n in t.notes]
    return "".join(parts)


def _aux_html(aux: dict | None) -> str:
    if not aux:
        return ""
    parts = []
    for source, texts in aux.items():
        if not texts:
            continue
        items = "".join(f"<li>{escape(str(t))}</li>" for t in texts)
        parts.append(f"<details><summary>{escape(source)} ({len(texts)})</summary><ul>{items}</ul></details>")
    return "".join(parts)


def _options_html(sample: dict) -> str:
    options = sample.get("options")
    if not options:
        return ""
    letters = sample.get("letters") or "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return "<br>".join(f"{escape(letters[i] if i < len(letters) else '?')}. {escape(str(o))}" for i, o in enumerate(options))


def write_cell_page(cell: Cell, analysis: Analysis, out: Path) -> Path:
    none, why = analysis.baselines.get(cell.rel, (None, ""))
    none_correct: dict[str, bool] = {}
    if none is not None and none is not cell:
        for qid, ok, answered in zip(none.question_ids, none.correct, none.answered):
            if answered:
                none_correct[qid] = bool(ok)
    row = analysis.ablation[analysis.ablation["cell"] == cell.rel].iloc[0]
    parts = [_head(cell.rel), "<p><a href='../index.html'>← report</a></p>",
             f"<h1>{escape(cell.model)} · {escape(task_label(cell.task))} · {cell.frames} frames · {escape(cell.setting)}</h1>",
             f"<p>{escape(str(row['accuracy_metric']))} <b>{row['accuracy']:.1f}</b> [{row['ci_low']:.1f}, {row['ci_high']:.1f}], n={cell.n}, "
             f"failed {cell.n_failed}" + (f", unparsable {cell.metrics['n_unparsable']}" if "n_unparsable" in cell.metrics else "")
             + f"; cell <code>{escape(str(cell.path))}</code></p>"]
    if (script := official_script(cell.metrics)) is not None:  # Video-MME: its own script's number beside the headline
        parts.append(f"<p>{escape(script)}</p>")
    if none is not None and none is not cell:
        parts.append(f"<p>compared with <a href='../{escape(page_name(none.rel))}'>{escape(none.rel)}</a> "
                     f"(rag=none): Δ {row['delta_vs_none']:+.1f} points, {int(row['fixed'])} fixed, {int(row['broken'])} broken</p>")
    elif not cell.is_none:
        parts.append(f"<p class='note'>no rag=none cell to compare with: {escape(why)}</p>")
    parts.append("<div class='filters'>" + "".join(
        f"<button data-kind='{k}' onclick=\"show('{k}')\">{label}</button>"
        for k, label in (("all", "all"), ("fixed", "fixed by RAG"), ("broken", "broken by RAG"), ("wrong", "wrong"),
                         ("failed", "failed"))) + " <span id='shown'></span></div>")
    parts.append("<table><thead><tr><th>#</th><th>question</th><th>answer</th><th>prediction</th><th>none</th>"
                 "<th>retrieved texts</th><th>decoupled request</th></tr></thead><tbody>")
    for i, s in enumerate(cell.samples()):
        qid = str(s.get("question_id", s.get("doc_id")))
        correct = bool(s.get("correct"))
        failed = bool(s.get("error"))
        classes = ["q", "right" if correct else "wrong"]
        if failed:
            classes.append("failed")
        base = none_correct.get(qid)
        if base is not None and not failed:
            if correct and not base:
                classes.append("fixed")
            elif base and not correct:
                classes.append("broken")
        question = escape(str(s.get("question") or "(question text not recorded in this cell)"))
        video = escape(Path(str(s.get("video") or "")).name)
        pred = escape(str(s.get("prediction") or ""))
        parsed = escape(str(s.get("parsed") or ""))
        mark = "<span class='ok'>✓</span>" if correct else "<span class='bad'>✗</span>"
        error = f"<br><span class='bad'>{escape(str(s.get('error_kind') or 'error'))}: {escape(str(s['error']))}</span>" if failed else ""
        base_txt = "" if base is None else ("✓" if base else "✗")
        request = s.get("request")
        req = (f"<pre>{escape(json.dumps(request, ensure_ascii=False))}</pre>" if request is not None
               else f"<span class='note'>null: {escape(str(s.get('request_note') or ''))}</span>")
        parts.append(
            f"<tr class='{' '.join(classes)}' id='q{i}'><td>{i + 1}<br><small>{escape(qid)}</small><br><small>{video}</small></td>"
            f"<td>{question}<br><small>{_options_html(s)}</small></td><td>{escape(str(s.get('answer') or ''))}</td>"
            f"<td>{mark} {parsed}<br><small>{pred}</small>{error}</td><td>{base_txt}</td>"
            f"<td>{_aux_html(s.get('aux'))}</td><td>{req}</td></tr>")
    parts.append(f"</tbody></table><script>{FILTER_JS}</script></body></html>")
    path = out / page_name(cell.rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts), encoding="utf-8")
    return path
