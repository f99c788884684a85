"""The whole ablation report of a results directory: load finished cells, compute, write every file."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import stats


@dataclass
class ReportResult:
    out: Path
    n_cells: int
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def build_report(results_dir: Path, out: Path | None = None, b: int = stats.DEFAULT_B, seed: int = stats.DEFAULT_SEED,
                 pages: bool = True, progress: bool = False) -> ReportResult:
    from .analysis import analyse
    from .attribution import write as write_attribution
    from .cells import load_cells
    from .html import write_cell_page, write_index
    from .plots import accuracy_vs_frames, category_deltas
    from .tables import write_tables

    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"{results_dir}: no such results directory (give the results_dir of your runs)")
    out = Path(out) if out is not None else results_dir / "report"
    t = {}
    t0 = time.perf_counter()
    cells, skipped = load_cells(results_dir, exclude=out)
    t["load"] = time.perf_counter() - t0
    if not cells:
        raise LookupError(f"{results_dir}: no finished cell (a cell is finished when it holds metrics.json)"
                          + (f"; {len(skipped)} unfinished or unreadable cell(s) found" if skipped else ""))
    out.mkdir(parents=True, exist_ok=True)
    t1 = time.perf_counter()
    analysis = analyse(cells, b=b, seed=seed)
    t["statistics"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    tables = write_tables(analysis, out)
    tables["attribution"] = write_attribution(analysis, out, str(results_dir))
    t["tables"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    plots = accuracy_vs_frames(analysis, out) + category_deltas(analysis, out)
    t["plots"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    files = sorted(p.name for p in out.iterdir() if p.suffix in (".csv", ".md"))
    if pages:
        it = cells
        if progress:
            from tqdm import tqdm

            it = tqdm(cells, desc="cell pages", unit="cell")
        for cell in it:
            write_cell_page(cell, analysis, out)
    write_index(analysis, tables, plots, skipped, out, results_dir, files)
    t["html"] = time.perf_counter() - t1
    t["total"] = time.perf_counter() - t0
    return ReportResult(out, len(cells), skipped, analysis.notes, files + [p.name for p in plots] + ["index.html"], t)
