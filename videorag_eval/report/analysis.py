"""From loaded cells to the report's numbers: one row per cell and per-category rows, with the
baseline each cell is compared with (the ``none`` / ``subtitles`` cell of the same pairing group)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.failures import failed_share, mostly_failed
from ..scoring.headline import task_label
from . import stats
from .cells import Cell

FEW_VIDEOS = 10  # below this many videos a cluster bootstrap is not to be trusted (noted in the report)

ABLATION_COLUMNS = [
    "model", "task", "frames", "rag", "threshold", "method", "accuracy", "accuracy_metric", "ci_low", "ci_high",
    "accuracy_micro", "n", "n_failed", "mostly_failed",
    "delta_vs_none", "delta_ci_low", "delta_ci_high", "delta_vs_subtitles", "p_vs_none",
    "p_mcnemar_vs_none", "n_paired", "fixed", "broken", "n_videos", "n_degraded", "limit", "parser", "none_cell", "cell",
    # the benchmark as named in tables ("MLVU dev (M-Avg)", "LVB val"), retrieval on/off, answers no parser read
    # (blank for cells written before it was counted), Video-MME's official-script accuracy (over parsable answers)
    "benchmark", "retrieval", "n_unparsable", "accuracy_official_script",
]


@dataclass
class Group:
    """Cells that may be paired (same data, limit, model, frames, ...): one question index, one video
    index and one bootstrap draw shared by all of them."""

    key: str
    cells: list[Cell]
    qindex: dict[str, int] = field(default_factory=dict)
    video_of_q: np.ndarray | None = None  # video column per question
    n_videos: int = 0
    counts: np.ndarray | None = None  # B x V
    rep: stats.Replicator | None = None  # every statistic of the group in one product (shared by groups of the same videos)
    cell_q: dict[str, np.ndarray] = field(default_factory=dict)  # cell rel -> question index per sample row


def _unique_ids(ids: np.ndarray) -> list[str]:
    """Question ids made unique within a cell (a repeated id gets #2, #3, ...)."""
    seen: dict[str, int] = defaultdict(int)
    out = []
    for q in ids:
        seen[q] += 1
        out.append(q if seen[q] == 1 else f"{q}#{seen[q]}")
    return out


def build_groups(cells: list[Cell], b: int, seed: int) -> dict[str, Group]:
    """Groups of pairable cells. Videos are indexed in sorted order and the bootstrap draw is seeded
    from the video list, so groups over the same videos share one draw and the report does not
    depend on the order cells are read in."""
    groups: dict[str, Group] = {}
    for cell in cells:
        groups.setdefault(cell.pairing, Group(cell.pairing, [])).cells.append(cell)
    draws: dict[str, stats.Replicator] = {}
    for group in groups.values():
        qvideo: dict[str, str] = {}
        for cell in group.cells:
            ids = _unique_ids(cell.question_ids)
            cell_ids = ids
            for qid, video in zip(cell_ids, cell.videos):
                qvideo.setdefault(qid, video)
            group.cell_q[cell.rel] = ids  # replaced by indices below
        group.qindex = {q: i for i, q in enumerate(qvideo)}
        videos = sorted(set(qvideo.values()))
        vindex = {v: i for i, v in enumerate(videos)}
        group.video_of_q = np.fromiter((vindex[v] for v in qvideo.values()), dtype=np.int64, count=len(qvideo))
        group.n_videos = len(videos)
        for rel, ids in group.cell_q.items():
            group.cell_q[rel] = np.fromiter((group.qindex[q] for q in ids), dtype=np.int64, count=len(ids))
        key = stats.video_set_key(videos)
        if key not in draws:
            counts = stats.resample_counts(group.n_videos, b, np.random.default_rng(stats.group_seed(seed, key)))
            draws[key] = stats.Replicator(counts)
        group.rep = draws[key]
        group.counts = group.rep.counts
    return groups


def _baseline(cell: Cell, group: Group, want: str) -> tuple[Cell | None, str]:
    candidates = [c for c in group.cells if c.rag == want and c is not cell]
    same_method = [c for c in candidates if c.method == cell.method]
    pick = same_method or candidates
    if not pick:
        return None, f"no {want} cell with the same data, limit and settings"
    if len(pick) > 1:
        return None, f"{len(pick)} {want} cells could serve as baseline ({', '.join(c.rel for c in pick)}): not paired"
    return pick[0], ""


def _paired(group: Group, a: Cell, b: Cell) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Questions both answered: (a_correct, b_correct, video index, question index) in group order."""
    size = len(group.qindex)
    a_ok = np.zeros(size, bool)
    b_ok = np.zeros(size, bool)
    a_c = np.zeros(size, bool)
    b_c = np.zeros(size, bool)
    qa, qb = group.cell_q[a.rel], group.cell_q[b.rel]
    a_ok[qa] = a.answered
    a_c[qa] = a.correct
    b_ok[qb] = b.answered
    b_c[qb] = b.correct
    both = np.flatnonzero(a_ok & b_ok)
    return a_c[both], b_c[both], group.video_of_q[both], both


# headline metrics that average per-category accuracy (metrics.json accuracy_metric -> the category key):
# their interval and paired deltas are macro too, so a row's numbers are all of one metric
MACRO_METRICS = {"mlvu_m_avg": "task_type"}


def _macro_codes(cell: Cell) -> tuple[np.ndarray, int] | None:
    """For a cell whose headline is a macro metric: (group index per question, -1 for a question with no
    category, i.e. failed before its doc was read; number of groups); else None."""
    key = MACRO_METRICS.get(str(cell.metrics.get("accuracy_metric")))
    if key is None:
        return None
    labels = [c.get(key) for c in cell.categories]
    names = {name: i for i, name in enumerate(sorted({str(x) for x in labels if x is not None}))}
    return np.array([names.get(str(x), -1) if x is not None else -1 for x in labels], dtype=np.int64), len(names)


def _accuracy_stat(cell: Cell, group: Group, video_index: np.ndarray):
    macro = _macro_codes(cell)
    if macro is None:
        return stats.prepare_accuracy(cell.correct, video_index, group.rep)
    codes, n = macro
    keep = codes >= 0
    return stats.prepare_macro_accuracy(cell.correct[keep], video_index[keep], codes[keep], n, group.rep)


def _paired_labels(cell: Cell, group: Group, qpos: np.ndarray) -> tuple[np.ndarray, int] | None:
    """This cell's macro group of each paired question (``qpos``: group question indices), or None."""
    macro = _macro_codes(cell)
    if macro is None:
        return None
    codes, n = macro
    label_of_q = np.full(len(group.qindex), -1, dtype=np.int64)
    label_of_q[group.cell_q[cell.rel]] = codes
    return label_of_q[qpos], n


def _delta_stat(cell: Cell, group: Group, other: Cell):
    a, bb, v, qpos = _paired(group, cell, other)
    labels = _paired_labels(cell, group, qpos)
    if labels is None:
        return stats.prepare_delta(a, bb, v, group.rep)
    lab, n = labels
    keep = lab >= 0
    return stats.prepare_macro_delta(a[keep], bb[keep], v[keep], lab[keep], n, group.rep)


def _point_delta(cell: Cell, group: Group, other: Cell) -> float | None:
    """The paired delta's estimate only (no interval), in the cell's headline metric."""
    a, bb, _, qpos = _paired(group, cell, other)
    diff = a.astype(float) - bb.astype(float)
    labels = _paired_labels(cell, group, qpos)
    if labels is not None:
        lab, _ = labels
        per = [diff[lab == g].mean() for g in np.unique(lab[lab >= 0])]
        return 100.0 * float(np.mean(per)) if per else None
    return 100.0 * diff.mean() if diff.size else None


@dataclass
class Analysis:
    cells: list[Cell]
    groups: dict[str, Group]
    ablation: pd.DataFrame
    categories: pd.DataFrame
    baselines: dict[str, tuple[Cell | None, str]]  # cell rel -> (none cell, why none)
    notes: list[str]


def analyse(cells: list[Cell], b: int = stats.DEFAULT_B, seed: int = stats.DEFAULT_SEED) -> Analysis:
    groups = build_groups(cells, b, seed)
    rows = []
    baselines: dict[str, tuple[Cell | None, str]] = {}
    notes: list[str] = []
    for group in groups.values():
        if group.n_videos < FEW_VIDEOS:
            names = ", ".join(sorted({f"{c.task}/{c.model}/f{c.frames}" for c in group.cells}))
            notes.append(f"{names}: only {group.n_videos} video(s); with so few clusters the bootstrap intervals "
                         "and p-values are too optimistic (read them as descriptive only)")
    pending = []
    for cell in cells:  # first every statistic is registered with its group's Replicator ...
        group = groups[cell.pairing]
        vid = group.video_of_q[group.cell_q[cell.rel]]
        acc = _accuracy_stat(cell, group, vid)  # the headline metric's interval (macro for MLVU's M-Avg)
        none, why = (cell, "") if cell.is_none else _baseline(cell, group, "none")
        baselines[cell.rel] = (none, why)
        delta = None
        if none is not None and not cell.is_none:
            delta = _delta_stat(cell, group, none)
        pending.append((cell, group, acc, none, why, delta))
    finish_categories = category_rows(cells, groups, baselines)
    for cell, group, acc_result, none, why, delta in pending:  # ... then one product per group gives them all
        acc = acc_result()
        if abs(acc.estimate - cell.accuracy) > 0.05:
            notes.append(f"{cell.rel}: accuracy recomputed from samples.jsonl is {acc.estimate:.2f}, metrics.json says "
                         f"{cell.accuracy:.2f}; the table shows metrics.json's value")
        low, high = acc.low, acc.high
        if abs(acc.estimate - cell.accuracy) <= 0.005 + 1e-9:  # metrics.json's 2-decimal rounding: keep the
            low, high = min(low, cell.accuracy), max(high, cell.accuracy)  # interval around the value shown
        row = {
            "model": cell.model, "task": cell.task, "frames": cell.frames, "rag": cell.rag, "threshold": cell.threshold,
            "method": cell.method, "accuracy": cell.accuracy, "ci_low": low, "ci_high": high, "n": cell.n,
            "n_failed": cell.n_failed, "n_videos": acc.n_videos, "n_degraded": cell.n_degraded, "limit": cell.limit,
            "parser": cell.parser, "cell": cell.rel, "mostly_failed": mostly_failed(cell.n, cell.n_failed),
        }
        if row["mostly_failed"]:  # marked in every table, never bolded as best (failures.MOSTLY_FAILED)
            notes.append(f"{cell.rel}: mostly failed: {failed_share(cell.n, cell.n_failed)}, counted wrong; its "
                         "accuracy measures the data more than the model (marked †, never bolded)")
        # the headline's name (cells written before it was named: micro accuracy) and micro accuracy beside it
        row.update(accuracy_metric=cell.metrics.get("accuracy_metric", "accuracy"),
                   accuracy_micro=cell.metrics.get("accuracy_micro", cell.accuracy))
        row.update(benchmark=task_label(cell.task), retrieval=cell.retrieval, n_unparsable=cell.metrics.get("n_unparsable"),
                   accuracy_official_script=cell.metrics.get("accuracy_official_script"))
        if cell.is_none:
            row.update(delta_vs_none=0.0, delta_ci_low=0.0, delta_ci_high=0.0, p_vs_none=None, p_mcnemar_vs_none=None,
                       n_paired=int(cell.answered.sum()), fixed=0, broken=0, none_cell=cell.rel)
        elif delta is not None:
            d = delta()
            row.update(delta_vs_none=d.estimate, delta_ci_low=d.low, delta_ci_high=d.high, p_vs_none=d.p,
                       p_mcnemar_vs_none=d.p_mcnemar, n_paired=d.n_paired, fixed=d.a_only, broken=d.b_only,
                       none_cell=none.rel)
        else:
            notes.append(f"{cell.rel}: {why}")
        if cell.is_subtitles:
            row["delta_vs_subtitles"] = 0.0
        else:
            subs, _ = _baseline(cell, group, "subtitles")
            if subs is not None:
                row["delta_vs_subtitles"] = _point_delta(cell, group, subs)
        rows.append(row)
    ablation = pd.DataFrame(rows).reindex(columns=ABLATION_COLUMNS)
    ablation["n_unparsable"] = ablation["n_unparsable"].astype("Int64")  # blank for cells written before it was counted
    return Analysis(cells, groups, ablation, finish_categories(), baselines, notes)


def category_keys(cell: Cell) -> list[str]:
    keys = list((cell.metrics.get("by_category") or {}).keys())
    return [k for k in keys if any(k in c for c in cell.categories)]


def _codes(cell: Cell, key: str, memo: dict) -> tuple[np.ndarray, np.ndarray]:
    """Category group of each question of a cell: (group names, code per question)."""
    if (cell.rel, key) not in memo:
        labels = [str(c.get(key, "(none)")) for c in cell.categories]
        codes, names = pd.factorize(pd.Series(labels, dtype=object), sort=True)
        memo[(cell.rel, key)] = (np.asarray(names, dtype=object), codes.astype(np.int64))
    return memo[(cell.rel, key)]


def category_rows(cells: list[Cell], groups: dict[str, Group],
                  baselines: dict[str, tuple[Cell | None, str]]) -> Callable[[], pd.DataFrame]:
    """Per cell, per category key and group: accuracy (all questions) and the paired delta vs none.
    Registers the bootstrap columns now; the returned function builds the table once they are computed."""
    pending = []
    memo: dict = {}
    for cell in cells:
        group = groups[cell.pairing]
        none, _ = baselines[cell.rel]
        pair = None
        if none is not None and none is not cell:
            pair = _paired(group, cell, none)
        for key in category_keys(cell):
            names, inverse = _codes(cell, key, memo)
            n = np.bincount(inverse, minlength=names.size)
            acc = 100.0 * np.bincount(inverse, weights=cell.correct.astype(float), minlength=names.size) / n
            deltas = none_acc = None
            if pair is not None:
                a, bb, v, qpos = pair
                # category label of each paired question, from this cell's records
                label_of_q = np.empty(len(group.qindex), dtype=np.int64)
                label_of_q[group.cell_q[cell.rel]] = inverse
                deltas = stats.prepare_grouped(a.astype(float) - bb.astype(float), v, label_of_q[qpos], names.size, group.rep)
                n_names, n_inv = _codes(none, key, memo)
                n_n = np.bincount(n_inv, minlength=n_names.size)
                n_acc = 100.0 * np.bincount(n_inv, weights=none.correct.astype(float), minlength=n_names.size) / n_n
                none_acc = dict(zip(n_names, n_acc))
            pending.append((cell, key, names, n, acc, deltas, none_acc))

    def finish() -> pd.DataFrame:
        rows = []
        for cell, key, names, n, acc, deltas, none_acc in pending:
            if deltas is not None:
                est, low, high, npair = deltas()
            for i, name in enumerate(names):
                row = {"task": cell.task, "model": cell.model, "frames": cell.frames, "rag": cell.rag,
                       "threshold": cell.threshold, "method": cell.method, "category": key, "group": name,
                       "n": int(n[i]), "accuracy": float(acc[i]), "cell": cell.rel}
                if cell.is_none:
                    row.update(none_accuracy=float(acc[i]), delta_vs_none=0.0, delta_ci_low=0.0, delta_ci_high=0.0,
                               n_paired=int(n[i]))
                elif deltas is not None:
                    row.update(none_accuracy=none_acc.get(name, float("nan")), delta_vs_none=est[i], delta_ci_low=low[i],
                               delta_ci_high=high[i], n_paired=int(npair[i]))
                rows.append(row)
        cols = ["task", "model", "frames", "rag", "threshold", "method", "category", "group", "n", "accuracy",
                "none_accuracy", "delta_vs_none", "delta_ci_low", "delta_ci_high", "n_paired", "cell"]
        return pd.DataFrame(rows).reindex(columns=cols)

    return finish
