"""Static HTML: ``index.html`` (every table and plot) and one page per cell listing its questions.

The markup is in ``templates/`` (Jinja2, autoescaped: every string from a cell, a path or a model name is
escaped by the template); this module prepares what they show as typed rows (``HtmlTable``, ``CellHead``,
``QuestionRow``) and writes the files. No script framework; one small inline script per page (the question filters;
a marker of loaded images)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from ..scoring.headline import task_label
from .analysis import Analysis
from .cells import Cell, Skipped
from .plots import slug
from .summary import official_script
from .tables import Table

TEMPLATES = Path(__file__).with_name("templates")
# The cell page's filters: (kind, label); a kind is a class of the question rows (QuestionRow.classes).
FILTERS = (("all", "all"), ("fixed", "fixed by RAG"), ("broken", "broken by RAG"), ("wrong", "wrong"), ("failed", "failed"))


def page_name(cell_rel: str) -> str:
    return "cells/" + slug(cell_rel.replace(os.sep, "__")) + ".html"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The templates next to this module, autoescaped; an undefined name is an error, never an empty string."""
    if not (TEMPLATES / "page.html.j2").is_file():
        raise FileNotFoundError(f"{TEMPLATES}: the report's HTML templates are missing (an install without the "
                                "package data of videorag_eval.report); reinstall videorag_eval (pip install .)")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined, auto_reload=False)


def _render(template: str, path: Path, **context) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(environment().get_template(template).render(**context), encoding="utf-8")
    return path


# -- tables (index.html) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HtmlCell:
    text: str
    num: bool = False  # right-aligned figures
    bold: bool = False
    href: str | None = None  # the cell page it links to


@dataclass(frozen=True)
class HtmlTable:
    title: str
    header: list[str]
    rows: list[list[HtmlCell]]
    row_class: str = ""
    note: str = ""


def _is_number(value: str) -> bool:
    """A figure such as ``41.7``, ``+8.3`` or ``-2.0 (+1.5)`` (``6/2`` and ``[1.0, 2.0]`` are not)."""
    return value.replace(".", "", 1).replace("+", "", 1).replace("-", "", 1).split(" ")[0].isdigit() if value else False


def html_table(table: Table, row_class: str = "", link_col: int | None = None) -> HtmlTable:
    """A ``Table`` as cells to draw: bold where marked (and not empty), the ``link_col`` column linking to the
    row's cell page, figures flagged for right alignment."""
    rows = []
    for i, row in enumerate(table.rows):
        link = table.links[i] if table.links else None
        rows.append([HtmlCell(value, num=_is_number(value), bold=(i, j) in table.bold and bool(value),
                              href=page_name(link) if link and j == link_col else None)
                     for j, value in enumerate(row)])
    return HtmlTable(table.title, table.header, rows, row_class, table.note)


@dataclass(frozen=True)
class Plot:
    src: str
    alt: str


@dataclass(frozen=True)
class AttributionSection:
    table: HtmlTable
    missing: list[str]  # the sweep lines that make the missing arms
    notes: list[str]


@dataclass(frozen=True)
class CategorySection:
    label: str
    tables: list[HtmlTable]


def attribution_sections(tables: list) -> list[AttributionSection]:
    """The attribution tables (``attribution.py``), each with the sweep lines of its missing arms."""
    from .attribution import as_table, missing_lines

    sections = []
    for t in tables:
        table = as_table(t)
        sections.append(AttributionSection(html_table(table, "attribution-row", len(table.header) - 1),
                                           missing_lines(t), list(t.notes)))
    return sections


def write_index(analysis: Analysis, tables: dict, plots: list[Path], skipped: list[Skipped], out: Path,
                results_dir: Path, files: list[str]) -> Path:
    abl: Table = tables["ablation"]
    return _render(
        "index.html.j2", out / "index.html", title="videorag_eval report", n_cells=len(analysis.cells),
        results_dir=str(results_dir), skipped=skipped, notes=analysis.notes,
        ablation=html_table(abl, "cell-row", len(abl.header) - 1),
        plots=[Plot(p.name, p.stem) for p in plots],
        attribution=attribution_sections(tables.get("attribution") or []),
        paper=html_table(tables["paper"]),
        categories=[CategorySection(task_label(task), [html_table(t) for t in tlist])
                    for task, tlist in tables["categories"].items()],
        files=files)


# -- one cell's page ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellHead:
    model: str
    benchmark: str
    frames: int
    setting: str
    metric: str
    accuracy: str
    ci_low: str
    ci_high: str
    n: int
    n_failed: int
    n_unparsable: str | None  # None: the cell does not count them
    path: str
    official_script: str | None  # Video-MME: its own script's number beside the headline


@dataclass(frozen=True)
class Comparison:
    """The ``rag=none`` cell a cell is compared with."""

    page: str
    rel: str
    delta: str
    fixed: int
    broken: int


@dataclass(slots=True)  # one per question: hundreds of thousands in a large report, built and drawn once
class QuestionRow:
    index: int
    number: int  # index + 1
    classes: str  # q, right|wrong, failed, fixed|broken: what the filters show
    qid: str
    video: str
    question: str
    options: list[tuple[str, str]]  # (letter, text)
    answer: str
    correct: bool
    parsed: str
    prediction: str
    error: str | None  # "kind: message" of a failed question
    baseline: str  # ✓ / ✗ in the none cell, empty when it has no answer to compare
    aux: list[tuple[str, list[str]]]  # (source, texts) of the sources that retrieved something
    request: str | None  # the decoupled request as JSON
    request_note: str  # why the request is null


def _options(sample: dict) -> list[tuple[str, str]]:
    letters = sample.get("letters") or "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [(letters[i] if i < len(letters) else "?", str(o)) for i, o in enumerate(sample.get("options") or [])]


def question_row(i: int, s: dict, none_correct: dict[str, bool]) -> QuestionRow:
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
    request = s.get("request")
    return QuestionRow(
        index=i, number=i + 1, classes=" ".join(classes), qid=qid, video=Path(str(s.get("video") or "")).name,
        question=str(s.get("question") or "(question text not recorded in this cell)"), options=_options(s),
        answer=str(s.get("answer") or ""), correct=correct, parsed=str(s.get("parsed") or ""),
        prediction=str(s.get("prediction") or ""),
        error=f"{s.get('error_kind') or 'error'}: {s['error']}" if failed else None,
        baseline="" if base is None else ("✓" if base else "✗"),
        aux=[(str(source), [str(t) for t in texts]) for source, texts in (s.get("aux") or {}).items() if texts],
        request=json.dumps(request, ensure_ascii=False) if request is not None else None,
        request_note=str(s.get("request_note") or ""))


def write_cell_page(cell: Cell, analysis: Analysis, out: Path) -> Path:
    none, why = analysis.baselines.get(cell.rel, (None, ""))
    compared = none is not None and none is not cell
    none_correct: dict[str, bool] = {}
    if compared:
        for qid, ok, answered in zip(none.question_ids, none.correct, none.answered):
            if answered:
                none_correct[qid] = bool(ok)
    row = analysis.ablation[analysis.ablation["cell"] == cell.rel].iloc[0]
    head = CellHead(
        model=cell.model, benchmark=task_label(cell.task), frames=cell.frames, setting=cell.setting,
        metric=str(row["accuracy_metric"]), accuracy=f"{row['accuracy']:.1f}", ci_low=f"{row['ci_low']:.1f}",
        ci_high=f"{row['ci_high']:.1f}", n=cell.n, n_failed=cell.n_failed,
        n_unparsable=str(cell.metrics["n_unparsable"]) if "n_unparsable" in cell.metrics else None,
        path=str(cell.path), official_script=official_script(cell.metrics))
    compare = (Comparison(page_name(none.rel), none.rel, f"{row['delta_vs_none']:+.1f}", int(row["fixed"]),
                          int(row["broken"])) if compared else None)
    return _render(
        "cell.html.j2", out / page_name(cell.rel), title=cell.rel, head=head, compare=compare,
        no_none=why if none is None and not cell.is_none else None, filters=FILTERS,
        questions=[question_row(i, s, none_correct) for i, s in enumerate(cell.samples())])
