"""``python -m videorag_eval.report RESULTS_DIR [--out DIR]``: ablation tables, plots and index.html
from the finished cells under RESULTS_DIR (nothing is run)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from . import stats

    ap = argparse.ArgumentParser(prog="python -m videorag_eval.report", description=__doc__.split(":", 1)[1].strip())
    ap.add_argument("results_dir", type=Path, help="the results_dir of your runs")
    ap.add_argument("--out", type=Path, default=None, help="where to write the report (default: RESULTS_DIR/report)")
    ap.add_argument("--bootstrap", type=int, default=stats.DEFAULT_B, metavar="B", help="bootstrap resamples (default %(default)s)")
    ap.add_argument("--seed", type=int, default=stats.DEFAULT_SEED, help="bootstrap seed (default %(default)s)")
    ap.add_argument("--no-pages", action="store_true", help="skip the per-cell question pages")
    args = ap.parse_args(argv)
    if args.bootstrap < 100:
        ap.error(f"--bootstrap {args.bootstrap}: use at least 100 resamples (2000 is the default)")

    from .build import build_report

    try:
        res = build_report(args.results_dir, args.out, b=args.bootstrap, seed=args.seed, pages=not args.no_pages,
                           progress=sys.stderr.isatty())
    except (FileNotFoundError, LookupError) as exc:
        print(f"videorag_eval.report: {exc}", file=sys.stderr)
        return 1
    for s in res.skipped:
        print(f"  not reported: {s.rel}: {s.reason}")
    for note in res.notes:
        print(f"  note: {note}")
    print(f"videorag_eval.report: {res.n_cells} finished cell(s)"
          + (f", {len(res.skipped)} not reported (unfinished or unreadable, listed above)" if res.skipped else "")
          + f"; {res.timings['total']:.1f} s")
    print(f"  {res.out / 'index.html'}")
    print(f"  {res.out / 'ablation.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
