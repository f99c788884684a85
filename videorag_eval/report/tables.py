"""The report's tables: ablation (CSV + markdown), the paper-style table, per-category tables."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..scoring.headline import task_label
from .analysis import Analysis

# Paper-style columns per benchmark, and which rag setting fills each.
PAPER_COLUMNS = (("without subtitles", "none"), ("with subtitles", "subtitles"), ("with Video-RAG", "full"))


def fmt(value, digits: int = 1, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return str(value)


def fmt_p(p) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    def esc(s: str) -> str:
        return str(s).replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


@dataclass
class Table:
    """A table ready for markdown and HTML: header, rows of strings, optional bold cells (row, col)."""

    title: str
    header: list[str]
    rows: list[list[str]]
    bold: set[tuple[int, int]]
    links: list[str | None] | None = None  # per row: the cell page to link to
    note: str = ""

    def to_markdown(self) -> str:
        rows = [[f"**{c}**" if (i, j) in self.bold and c else c for j, c in enumerate(row)] for i, row in enumerate(self.rows)]
        text = f"### {self.title}\n\n" + markdown(self.header, rows)
        return text + (f"\n{self.note}\n" if self.note else "")


def ablation_table(analysis: Analysis) -> Table:
    header = ["model", "benchmark", "frames", "rag", "method", "accuracy", "metric", "95% CI", "n", "failed",
              "unparsable", "official script", "Δ vs none", "Δ 95% CI", "p vs none", "fixed/broken", "Δ vs subtitles", "cell"]
    rows = []
    for r in analysis.ablation.itertuples(index=False):
        rag = r.rag + (f" t{r.threshold:g}" if pd.notna(r.threshold) else "")
        ci = f"[{r.ci_low:.1f}, {r.ci_high:.1f}]"
        dci = f"[{r.delta_ci_low:+.1f}, {r.delta_ci_high:+.1f}]" if pd.notna(r.delta_ci_low) and r.rag != "none" else ""
        fb = f"{int(r.fixed)}/{int(r.broken)}" if pd.notna(r.fixed) and r.rag != "none" else ""
        rows.append([r.model, task_label(r.task), str(r.frames), rag, r.method, f"{r.accuracy:.1f}" + _flag(r.mostly_failed),
                     str(r.accuracy_metric), ci,
                     str(r.n), str(r.n_failed), "" if pd.isna(r.n_unparsable) else str(int(r.n_unparsable)),
                     fmt(None if pd.isna(r.accuracy_official_script) else float(r.accuracy_official_script)),
                     fmt(r.delta_vs_none, signed=True) if r.rag != "none" else "", dci, fmt_p(r.p_vs_none), fb,
                     fmt(r.delta_vs_subtitles, signed=True) if r.rag != "subtitles" else "", r.cell])
    note = ("Accuracy in percent, the benchmark's official metric named in `metric` (`mlvu_m_avg`: MLVU's M-Avg, the "
            "mean of per-task-type accuracy over the types present; `videomme_accuracy` / `lvb_accuracy`: over all "
            "questions; `accuracy_micro` in ablation.csv); failed and unparsable answers count as wrong; 95% CI: bootstrap "
            "over videos. unparsable: answers the parser read no letter from; official script: Video-MME's own "
            "eval_your_results.py, which leaves unparsable answers out of its denominator. "
            "Δ (in the same metric): percentage points against the `none` cell of the same model, task, frames, data and limit, paired on "
            "the questions both answered; p: paired bootstrap over videos (two-sided); fixed/broken: questions right "
            "only with RAG / only without. " + MOSTLY_FAILED_NOTE)
    return Table("Ablation: one row per cell", header, rows, set(), links=list(analysis.ablation["cell"]), note=note)


MOSTLY_FAILED_NOTE = ("†: a mostly failed cell (more than half of its questions could not be asked; they count as "
                      "wrong): its number is shown, marked, and never bolded as best.")


def _flag(mostly_failed) -> str:
    """The mark of a mostly failed cell's number (``failures.MOSTLY_FAILED``)."""
    return " †" if not pd.isna(mostly_failed) and bool(mostly_failed) else ""


def _pick_video_rag(df: pd.DataFrame) -> pd.Series | None:
    """The Video-RAG cell of a model/task/frames: rag=full, method default first, threshold nearest 0.3."""
    full = df[df["rag"] == "full"]
    if full.empty:
        return None
    order = full.assign(_m=(full["method"] != "default").astype(int), _t=(full["threshold"].fillna(0.3) - 0.3).abs())
    return order.sort_values(["_m", "_t"]).iloc[0]


def paper_table(analysis: Analysis) -> tuple[Table, pd.DataFrame]:
    """Rows: model (and frames); per benchmark: without subtitles / with subtitles / with Video-RAG."""
    df = analysis.ablation
    tasks = sorted(df["task"].unique())
    keys = sorted({(m, f) for m, f in zip(df["model"], df["frames"])}, key=lambda k: (k[0], k[1]))
    metric_of = {t: ", ".join(sorted({str(m) for m in df.loc[df["task"] == t, "accuracy_metric"].dropna()})) for t in tasks}
    header = ["model", "frames"] + [f"{task_label(t)} ({metric_of[t]}): {label}" if metric_of[t] else f"{task_label(t)}: {label}"
                                    for t in tasks for label, _ in PAPER_COLUMNS]
    values: list[list[float | None]] = []  # what may be bolded: None where empty or mostly failed
    cells: list[list[str]] = []
    records = []
    for model, frames in keys:
        vals, texts = [], []
        for task in tasks:
            sub = df[(df["model"] == model) & (df["frames"] == frames) & (df["task"] == task)]
            for label, rag in PAPER_COLUMNS:
                if rag == "full":
                    row = _pick_video_rag(sub)
                else:
                    pick = sub[(sub["rag"] == rag) & (sub["method"] == "default")]
                    pick = pick if not pick.empty else sub[sub["rag"] == rag]
                    row = pick.iloc[0] if not pick.empty else None
                if row is None:
                    vals.append(None)
                    texts.append("–")
                    continue
                flag = _flag(row["mostly_failed"])
                vals.append(None if flag else float(row["accuracy"]))  # a mostly failed cell is never the best
                text = f"{row['accuracy']:.1f}{flag}"
                if rag != "none" and pd.notna(row["delta_vs_none"]):
                    text += f" ({row['delta_vs_none']:+.1f})"
                texts.append(text)
                records.append({"model": model, "frames": frames, "task": task, "benchmark": task_label(task),
                                "column": label, "rag": row["rag"],
                                "threshold": row["threshold"], "method": row["method"], "accuracy": row["accuracy"],
                                "accuracy_metric": row["accuracy_metric"],
                                "ci_low": row["ci_low"], "ci_high": row["ci_high"],
                                "delta_vs_none": row["delta_vs_none"] if rag != "none" else None, "cell": row["cell"]})
        values.append(vals)
        cells.append([model, str(frames)] + texts)
    bold = set()
    for j in range(len(header) - 2):
        col = [v[j] for v in values if v[j] is not None]
        if col:
            best = max(col)
            bold |= {(i, j + 2) for i, v in enumerate(values) if v[j] is not None and v[j] == best}
    note = ("Each benchmark's official metric, in percent, named in the header (MLVU: M-Avg over the task types present); "
            "in parentheses the paired delta against `none`, in the same metric. With Video-RAG = `rag=full` "
            "(ASR+OCR+DET; method `default` and threshold nearest 0.3 when several). Best per column in bold. "
            + MOSTLY_FAILED_NOTE)
    return Table("Paper-style table", header, cells, bold, note=note), pd.DataFrame(records)


def category_tables(analysis: Analysis, task: str) -> list[Table]:
    """One table per category key of a task: rows = groups, columns = cells (accuracy and Δ vs none)."""
    df = analysis.categories[analysis.categories["task"] == task]
    tables = []
    for key in df["category"].drop_duplicates():
        sub = df[df["category"] == key]
        cols = sub[["model", "frames", "rag", "threshold", "method", "cell"]].drop_duplicates("cell")
        names = [f"{r.model} f{r.frames} {r.rag}" + (f" t{r.threshold:g}" if pd.notna(r.threshold) else "")
                 + (f" [{r.method}]" if r.method != "default" else "") for r in cols.itertuples()]
        groups = list(sub["group"].drop_duplicates())
        rows = []
        for g in groups:
            row = [g]
            n = sub[sub["group"] == g]["n"].max()
            row.append(str(int(n)))
            for cell in cols["cell"]:
                hit = sub[(sub["group"] == g) & (sub["cell"] == cell)]
                if hit.empty:
                    row.append("")
                    continue
                h = hit.iloc[0]
                text = f"{h['accuracy']:.1f}"
                if h["rag"] != "none" and pd.notna(h["delta_vs_none"]):
                    text += f" ({h['delta_vs_none']:+.1f})"
                row.append(text)
            rows.append(row)
        tables.append(Table(f"{task_label(task)}: accuracy by {key} (Δ vs none in parentheses)", [key, "n"] + names, rows, set()))
    return tables


def write_tables(analysis: Analysis, out: Path) -> dict[str, object]:
    """Writes every CSV and markdown file; returns the tables for the HTML page."""
    analysis.ablation.to_csv(out / "ablation.csv", index=False, float_format="%.4f")
    abl = ablation_table(analysis)
    paper, paper_df = paper_table(analysis)
    paper_df.to_csv(out / "paper_table.csv", index=False, float_format="%.4f")
    (out / "paper_table.md").write_text(paper.to_markdown(), encoding="utf-8")
    (out / "ablation.md").write_text("# Ablation\n\n" + abl.to_markdown() + "\n" + paper.to_markdown(), encoding="utf-8")
    per_task: dict[str, list[Table]] = {}
    for task in sorted(analysis.categories["task"].dropna().unique()) if not analysis.categories.empty else []:
        analysis.categories[analysis.categories["task"] == task].to_csv(out / f"categories_{task}.csv", index=False,
                                                                          float_format="%.4f")
        per_task[task] = category_tables(analysis, task)
        (out / f"categories_{task}.md").write_text(f"# {task_label(task)}: per-category accuracy\n\n"
                                                   + "\n".join(t.to_markdown() for t in per_task[task]), encoding="utf-8")
    return {"ablation": abl, "paper": paper, "categories": per_task}
