"""PNG plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .analysis import Analysis


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"


def _setting(r) -> str:
    label = r.rag + (f" t{r.threshold:g}" if pd.notna(r.threshold) else "")
    return label + (f" [{r.method}]" if r.method != "default" else "")


def error_bars(estimate, low, high) -> np.ndarray:
    """matplotlib's ``[below, above]`` error lengths, never negative: the estimate shown (e.g.
    metrics.json's accuracy, rounded to 2 decimals) may sit a rounding step outside the unrounded
    interval (a one-video cell: 66.67 against [66.666.., 66.666..]); a missing interval draws no bar."""
    est = np.asarray(estimate, dtype=float)
    below = est - np.asarray(low, dtype=float)
    above = np.asarray(high, dtype=float) - est
    return np.clip(np.nan_to_num(np.vstack([below, above]), nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


def accuracy_vs_frames(analysis: Analysis, out: Path) -> list[Path]:
    """Per task: one panel per model, accuracy against frames, one line per rag setting, CI bands."""
    plt = _pyplot()
    paths = []
    df = analysis.ablation.copy()
    df["setting"] = [_setting(r) for r in df.itertuples()]
    for task, tdf in df.groupby("task", sort=True):
        if tdf["limit"].nunique(dropna=False) > 1:  # cells of different limits are different lines
            tdf = tdf.assign(setting=[s + (f" n{int(lim)}" if pd.notna(lim) else " all") for s, lim in zip(tdf["setting"], tdf["limit"])])
        models = sorted(tdf["model"].unique())
        fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 4.2), squeeze=False)
        for ax, model in zip(axes[0], models):
            mdf = tdf[tdf["model"] == model]
            for setting, sdf in mdf.groupby("setting", sort=True):
                # one line per setting and pairing group (limit/data); duplicates of a frame count are averaged away
                sdf = sdf.sort_values("frames").drop_duplicates("frames")
                x = sdf["frames"].to_numpy()
                (line,) = ax.plot(x, sdf["accuracy"], marker="o", label=setting)
                ax.fill_between(x, sdf["ci_low"], sdf["ci_high"], alpha=0.2, color=line.get_color())
                if len(x) == 1:
                    ax.errorbar(x, sdf["accuracy"], yerr=error_bars(sdf["accuracy"], sdf["ci_low"], sdf["ci_high"]),
                                color=line.get_color(), capsize=4)
            ax.set_title(f"{task} — {model}")
            ax.set_xlabel("frames")
            ax.set_ylabel("accuracy (%)")
            ax.set_xticks(sorted(mdf["frames"].unique()))
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        paths.append(_save(plt, fig, out / f"accuracy_vs_frames_{slug(task)}.png"))
    return paths


def category_deltas(analysis: Analysis, out: Path) -> list[Path]:
    """Per task and category key: Δ vs none per group (bars with 95% CI), one panel per model at its
    largest frame count, one bar per rag setting."""
    plt = _pyplot()
    paths = []
    cat = analysis.categories
    if cat.empty:
        return paths
    cat = cat[(cat["rag"] != "none") & cat["delta_vs_none"].notna()].copy()
    cat["setting"] = [_setting(r) for r in cat.itertuples()]
    for (task, key), kdf in cat.groupby(["task", "category"], sort=True):
        models = sorted(kdf["model"].unique())
        groups = list(dict.fromkeys(kdf["group"]))
        height = max(3.0, 0.35 * len(groups) * max(1, kdf["setting"].nunique()) ** 0.5 + 1.5)
        fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), height), squeeze=False)
        for ax, model in zip(axes[0], models):
            mdf = kdf[kdf["model"] == model]
            mdf = mdf[mdf["frames"] == mdf["frames"].max()]
            settings = sorted(mdf["setting"].unique())
            width = 0.8 / max(1, len(settings))
            y = np.arange(len(groups))
            for i, setting in enumerate(settings):
                s = mdf[mdf["setting"] == setting].drop_duplicates("group").set_index("group").reindex(groups)
                est = s["delta_vs_none"].to_numpy(float)
                err = error_bars(est, s["delta_ci_low"], s["delta_ci_high"])
                ax.barh(y + i * width - 0.4 + width / 2, est, height=width, xerr=err, capsize=2, label=setting)
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_yticks(y)
            ax.set_yticklabels(groups, fontsize=8)
            ax.invert_yaxis()
            ax.set_xlabel("Δ accuracy vs none (points)")
            ax.set_title(f"{task} — {model}, {int(mdf['frames'].max()) if len(mdf) else ''} frames, by {key}", fontsize=9)
            ax.grid(alpha=0.3, axis="x")
            ax.legend(fontsize=7)
        paths.append(_save(plt, fig, out / f"category_deltas_{slug(task)}_{slug(key)}.png"))
    return paths


def _save(plt, fig, path: Path) -> Path:
    """Lay out, write (100 dpi, as every plot of the report) and close one figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
