"""Where the gain comes from: the attribution table of each (model, task, frames).

Rows, in this order: ``none``; each single source (ASR, OCR, DET); the pairs; ``full``; the no-retrieval arms
(``transcript`` = every ASR document, ``full_noretrieval`` = ``rag=full rag.retrieval=false``, and any other
``*_noretrieval`` cell found); ``subtitles``. Each with its accuracy and 95% interval, the paired delta against
``none`` and, for a retrieval arm with ASR or OCR, against the no-retrieval arm of the same sources: the
**retrieval effect** (what filtering the documents adds over giving all of them). Deltas are the report's
paired deltas (``analysis._delta_stat``: questions both cells answered, cluster bootstrap over videos, its p and
the exact McNemar p; in the headline's metric, macro for MLVU's M-Avg). Arms a complete attribution needs but
no finished cell holds are named with the sweep line that would make them.

One table per pairing group (same data, limit, model, frames, parser: ``cells.pairing_key``) and method;
``none`` and ``subtitles`` cells have no method (their identity drops it) and serve every method's table. When
an arm has cells at several thresholds, the one nearest 0.3 is shown (the ablation table lists them all).
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from ..scoring.headline import task_label
from . import stats
from .analysis import Analysis, Group, _delta_stat
from .cells import Cell
from .tables import Table

SOURCES = ("asr", "ocr", "det")
# (arm, the overrides of a sweep line that makes it, grouped by line): what a complete attribution expects
EXPECTED = (
    ("none", "rag"), ("asr", "rag"), ("ocr", "rag"), ("det", "rag"), ("asr_ocr", "rag"), ("asr+det", "det_pairs"),
    ("ocr+det", "det_pairs"), ("full", "rag"), ("transcript", "rag"), ("full_noretrieval", "full_noretrieval"),
    ("subtitles", "rag"),
)
NO_SUBTITLES = ("mlvu",)  # tasks without subtitles: no subtitles arm expected (the config refuses it)
# the no-retrieval arm of each retrieval arm with ASR or OCR (the "retrieval effect" pairs)
_PRESET_OF = {("asr",): "asr", ("ocr",): "ocr", ("asr", "ocr"): "asr_ocr", ("asr", "ocr", "det"): "full"}

CSV_COLUMNS = [
    "benchmark", "task", "model", "frames", "method", "arm", "sources", "retrieval", "threshold", "accuracy",
    "accuracy_metric", "ci_low", "ci_high", "n", "n_failed", "n_unparsable", "accuracy_official_script",
    "delta_vs_none", "delta_vs_none_ci_low", "delta_vs_none_ci_high", "p_vs_none", "p_mcnemar_vs_none",
    "retrieval_effect", "retrieval_effect_ci_low", "retrieval_effect_ci_high", "p_retrieval_effect",
    "p_mcnemar_retrieval_effect", "no_retrieval_cell", "none_cell", "cell", "missing_command",
]


def _sources(cell: Cell) -> tuple[str, ...]:
    return tuple(s for s in SOURCES if s in cell.sources)


def arm_order(cell: Cell) -> tuple:
    """none; retrieval arms by number of sources; no-retrieval arms; subtitles; anything else (e.g. subtitles
    with sources) last."""
    src = _sources(cell)
    rank = tuple(SOURCES.index(s) for s in src)
    if cell.is_none:
        return (0,)
    if cell.is_subtitles:
        return (3,)
    if "subtitles" in cell.sources:
        return (4, cell.rag)
    return (1 if cell.retrieval else 2, len(src), rank)


def no_retrieval_arm(cell: Cell) -> str | None:
    """The name of the no-retrieval arm with the same sources (``asr`` -> ``transcript``), or None when the cell
    retrieves nothing (none, subtitles, DET only) or is itself a no-retrieval arm."""
    if not cell.retrieval or "subtitles" in cell.sources:
        return None
    src = _sources(cell)
    if not ("asr" in src or "ocr" in src):
        return None
    if src == ("asr",):
        return "transcript"
    return f"{_PRESET_OF.get(src, '+'.join(src))}_noretrieval"


@dataclass
class AttributionTable:
    benchmark: str
    task: str
    model: str
    frames: int
    method: str
    metric: str
    rows: list[dict[str, Any]]  # one per arm present, in arm order
    missing: list[tuple[str, str]] = field(default_factory=list)  # (arm, sweep line)
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        method = f", method {self.method}" if self.method != "default" else ""
        return f"{self.benchmark} · {self.model} · {self.frames} frames{method} ({self.metric})"


def _nearest(cells: list[Cell]) -> Cell:
    return sorted(cells, key=lambda c: (abs((c.threshold if c.threshold is not None else 0.3) - 0.3),
                                        c.threshold or 0.0, c.rel))[0]


def _pick(candidates: list[Cell], method: str) -> Cell | None:
    same = [c for c in candidates if c.method == method]
    pick = same or candidates
    return _nearest(pick) if pick else None


def _sweep_line(ref: Cell, method: str, threshold: float | None, results_dir: str, arm_overrides: str) -> str:
    cfg = ref.config
    parts = ["python -m videorag_eval -m", f"model={ref.model}", f"task={ref.task}", f"frames={ref.frames}"]
    if ref.limit is not None:
        parts.append(f"limit={ref.limit}")
    if method != "default":
        parts.append(f"method={method}")
    data_dir = (cfg.get("task") or {}).get("data_dir") if isinstance(cfg.get("task"), dict) else None
    if data_dir:
        parts.append(f"task.data_dir={shlex.quote(str(data_dir))}")
    if cfg.get("seed") not in (None, 0):
        parts.append(f"seed={cfg['seed']}")
    if ref.parser not in (None, "lmms_eval"):
        parts.append(f"parser={ref.parser}")
    if threshold is not None and not math.isclose(threshold, 0.3):
        parts.append(f"rag.threshold={threshold:g}")
    parts.append(f"results_dir={shlex.quote(results_dir)}")
    cache_dir = cfg.get("cache_dir")
    if cache_dir and str(cache_dir) != f"{cfg.get('results_dir')}/.cache":  # the cells' own cache: nothing re-extracted
        parts.append(f"cache_dir={shlex.quote(str(cache_dir))}")
    parts.append(arm_overrides)
    return " ".join(parts)


def _missing(present: set[str], task: str, ref: Cell, method: str, threshold: float | None,
             results_dir: str) -> list[tuple[str, str]]:
    absent = [(arm, line) for arm, line in EXPECTED if arm not in present
              and not (arm == "subtitles" and task in NO_SUBTITLES)]
    lines: dict[str, list[str]] = {}
    for arm, line in absent:
        lines.setdefault(line, []).append(arm)
    out = []
    for line, arms in lines.items():
        if line == "rag":
            overrides = "rag=" + ",".join(arms)
        elif line == "det_pairs":
            overrides = "rag=" + ",".join(a.split("+")[0] for a in arms) + " rag.det=true"
        else:
            overrides = "rag=full rag.retrieval=false"
        command = _sweep_line(ref, method, threshold, results_dir, overrides)
        out += [(arm, command) for arm in arms]
    order = [arm for arm, _ in EXPECTED]
    return sorted(out, key=lambda item: order.index(item[0]))


def _value(x: Any) -> Any:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def attribution(analysis: Analysis, results_dir: str = "results") -> list[AttributionTable]:
    """The attribution tables of every pairing group and method (statistics on a fresh draw-sharing
    ``Replicator`` per group: the group's resampled videos, so its intervals match the ablation table's)."""
    by_cell = analysis.ablation.set_index("cell")
    plans = []
    reps: dict[str, Group] = {}
    for key, group in analysis.groups.items():
        reps[key] = replace(group, rep=stats.Replicator(group.counts))
        methods = sorted({c.method for c in group.cells if _sources(c)}) or sorted({c.method for c in group.cells})
        for method in methods:
            arms: dict[str, list[Cell]] = {}
            for c in group.cells:
                if _sources(c) and c.method != method:
                    continue  # another reading of the method: its own table
                arms.setdefault(c.rag, []).append(c)
            chosen = {arm: _pick(cells, method) for arm, cells in arms.items()}
            ordered = sorted(chosen.values(), key=lambda c: (arm_order(c), c.rel))
            none = chosen.get("none")
            pending = []
            for cell in ordered:
                vs_none = _delta_stat(cell, reps[key], none) if none is not None and cell is not none else None
                nr_name = no_retrieval_arm(cell)
                nr = chosen.get(nr_name) if nr_name else None
                effect = _delta_stat(cell, reps[key], nr) if nr is not None else None
                pending.append((cell, vs_none, nr, effect))
            plans.append((key, method, none, ordered, pending))
    tables = []
    for key, method, none, ordered, pending in plans:  # every statistic registered: one product per group
        ref = ordered[0]
        retrieving = [c for c in ordered if c.threshold is not None]
        threshold = _nearest(retrieving).threshold if retrieving else None
        rows = []
        for cell, vs_none, nr, effect in pending:
            ab = by_cell.loc[cell.rel]
            row: dict[str, Any] = {
                "benchmark": task_label(cell.task), "task": cell.task, "model": cell.model, "frames": cell.frames,
                "method": method, "arm": cell.rag, "sources": "+".join(_sources(cell)) or ("subtitles" if cell.is_subtitles else ""),
                "retrieval": cell.retrieval if _sources(cell) else None, "threshold": cell.threshold,
                "accuracy": cell.accuracy, "accuracy_metric": ab["accuracy_metric"], "ci_low": ab["ci_low"],
                "ci_high": ab["ci_high"], "n": cell.n, "n_failed": cell.n_failed,
                "n_unparsable": _value(cell.metrics.get("n_unparsable")),
                "accuracy_official_script": _value(cell.metrics.get("accuracy_official_script")),
                "none_cell": none.rel if none is not None else None, "cell": cell.rel,
                "no_retrieval_cell": nr.rel if nr is not None else None,
            }
            if cell is none:
                row.update(delta_vs_none=0.0)
            elif vs_none is not None:
                d = vs_none()
                row.update(delta_vs_none=d.estimate, delta_vs_none_ci_low=d.low, delta_vs_none_ci_high=d.high,
                           p_vs_none=d.p, p_mcnemar_vs_none=d.p_mcnemar)
            if effect is not None:
                e = effect()
                row.update(retrieval_effect=e.estimate, retrieval_effect_ci_low=e.low, retrieval_effect_ci_high=e.high,
                           p_retrieval_effect=e.p, p_mcnemar_retrieval_effect=e.p_mcnemar)
            rows.append(row)
        table = AttributionTable(task_label(ref.task), ref.task, ref.model, ref.frames, method,
                                 str(by_cell.loc[ref.rel]["accuracy_metric"]), rows)
        table.missing = _missing({c.rag for c in ordered}, ref.task, ref, method, threshold, results_dir)
        if none is None:
            table.notes.append("no none cell: no delta against none")
        tables.append(table)
    tables.sort(key=lambda t: (t.task, t.model, t.frames, t.method))
    return tables


def to_frame(tables: list[AttributionTable]) -> pd.DataFrame:
    """attribution.csv: one row per arm present, then one per missing arm (its sweep line in ``missing_command``)."""
    records = []
    for t in tables:
        records += t.rows
        records += [{"benchmark": t.benchmark, "task": t.task, "model": t.model, "frames": t.frames, "method": t.method,
                     "arm": arm, "missing_command": command} for arm, command in t.missing]
    frame = pd.DataFrame(records).reindex(columns=CSV_COLUMNS)
    for col in ("frames", "n", "n_failed", "n_unparsable"):  # counts stay integers beside the missing arms' blanks
        frame[col] = frame[col].astype("Int64")
    return frame


def _fmt(x: Any, signed: bool = False) -> str:
    x = _value(x)
    if x is None:
        return ""
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def _fmt_p(p: Any) -> str:
    p = _value(p)
    return "" if p is None else (f"{p:.3f}" if p >= 0.001 else "<0.001")


HEADER = ["arm", "retrieval", "accuracy", "95% CI", "n", "unparsable", "official script", "Δ vs none", "Δ 95% CI",
          "p (bootstrap)", "p (McNemar)", "retrieval effect", "effect 95% CI", "p (bootstrap)", "p (McNemar)", "cell"]
NOTE = ("Accuracy: the benchmark's headline metric, in percent (failed and unparsable answers count wrong); 95% CI: "
        "bootstrap over videos. Δ vs none: paired on the questions both cells answered, in the same metric. Retrieval "
        "effect: the arm minus the no-retrieval arm of the same sources (asr − transcript, full − full_noretrieval): "
        "what the retrieval filter adds over giving every document. p (bootstrap): paired cluster bootstrap, two-sided; "
        "p (McNemar): exact, on the discordant questions (treats questions as independent). unparsable: answers the "
        "parser read no letter from; official script: Video-MME's eval_your_results.py (unparsable answers out of "
        "its denominator).")


def table_rows(t: AttributionTable) -> tuple[list[list[str]], list[str | None]]:
    """Rows of strings for markdown/HTML, and per row the cell (for links; None for a missing arm)."""
    out, links = [], []
    for r in t.rows:
        arm = r["arm"] + (f" t{r['threshold']:g}" if _value(r.get("threshold")) is not None else "")
        retrieval = "" if r.get("retrieval") is None else ("yes" if r["retrieval"] else "no")
        none = r["cell"] == r.get("none_cell")
        dci = (f"[{r['delta_vs_none_ci_low']:+.1f}, {r['delta_vs_none_ci_high']:+.1f}]"
               if _value(r.get("delta_vs_none_ci_low")) is not None else "")
        eci = (f"[{r['retrieval_effect_ci_low']:+.1f}, {r['retrieval_effect_ci_high']:+.1f}]"
               if _value(r.get("retrieval_effect_ci_low")) is not None else "")
        out.append([arm, retrieval, _fmt(r["accuracy"]), f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]", str(r["n"]),
                    "" if r.get("n_unparsable") is None else str(int(r["n_unparsable"])),
                    _fmt(r.get("accuracy_official_script")), "" if none else _fmt(r.get("delta_vs_none"), signed=True),
                    dci, _fmt_p(r.get("p_vs_none")), _fmt_p(r.get("p_mcnemar_vs_none")),
                    _fmt(r.get("retrieval_effect"), signed=True), eci, _fmt_p(r.get("p_retrieval_effect")),
                    _fmt_p(r.get("p_mcnemar_retrieval_effect")), r["cell"]])
        links.append(r["cell"])
    for arm, _ in t.missing:
        out.append([arm, "", "missing"] + [""] * (len(HEADER) - 3))
        links.append(None)
    return out, links


def missing_lines(t: AttributionTable) -> list[str]:
    """The distinct sweep lines that would make this table's missing arms, each with the arms it makes."""
    by_line: dict[str, list[str]] = {}
    for arm, command in t.missing:
        by_line.setdefault(command, []).append(arm)
    return [f"{', '.join(arms)}: {command}" for command, arms in by_line.items()]


def as_table(t: AttributionTable) -> Table:
    rows, links = table_rows(t)
    return Table(f"Attribution: {t.title}", HEADER, rows, set(), links=links, note=NOTE)


def to_markdown(tables: list[AttributionTable]) -> str:
    parts = ["# Where the gain comes from: attribution\n"]
    for t in tables:
        parts.append(as_table(t).to_markdown())
        lines = missing_lines(t)
        if lines:
            parts.append("Missing cells (the sweep line that makes them):\n\n" + "".join(f"- {line}\n" for line in lines))
        parts += [f"{n}\n" for n in t.notes]
    return "\n".join(parts)


def write(analysis: Analysis, out, results_dir: str) -> list[AttributionTable]:
    """attribution.csv and attribution.md; the tables for the HTML page."""
    tables = attribution(analysis, results_dir)
    to_frame(tables).to_csv(out / "attribution.csv", index=False, float_format="%.4f")
    (out / "attribution.md").write_text(to_markdown(tables), encoding="utf-8")
    return tables
