"""The console summary printed when a cell finishes (or is found finished)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def headline(metrics: dict[str, Any]) -> str:
    """The headline number named by its metric, with micro accuracy beside it when they differ, e.g.
    ``mlvu_m_avg 34.4% (micro accuracy 50.0%)``; cells written before the metric was named say ``accuracy``."""
    name = metrics.get("accuracy_metric", "accuracy")
    text = f"{name} {metrics['accuracy']:.1f}%"
    micro = metrics.get("accuracy_micro")
    if micro is not None and abs(micro - metrics["accuracy"]) > 1e-9:
        text += f" (micro accuracy {micro:.1f}%)"
    return text


def official_script(metrics: dict[str, Any]) -> str | None:
    """Video-MME's official-script accuracy (unparsable answers out of the denominator), for beside the headline."""
    script = metrics.get("official_script")
    if not isinstance(script, dict) or script.get("accuracy") is None:
        return None
    return (f"official script (eval_your_results.py) {script['accuracy']:.1f}% over the {script['answered']} answers it "
            f"reads ({script['left_out']} left out of its denominator; the headline counts them wrong)")


def print_summary(metrics: dict[str, Any], cell: Path, skipped: bool = False) -> None:
    from ..scoring.headline import task_label

    rag = metrics["rag"]
    lines = [
        f"videorag_eval: {metrics['model']} on {task_label(metrics['task'])}, {metrics['frames']} frames, rag={rag.get('label')}"
        + ("  (finished earlier; not run again)" if skipped else ""),
        f"  {headline(metrics)} over n={metrics['n']} questions; failed {metrics['n_failed']}"
        + f", degraded {metrics.get('n_degraded', 0)}"
        + (f", unparsable {metrics['n_unparsable']}" if "n_unparsable" in metrics else "")
        + (f" {metrics['failures']}" if metrics.get("failures") else "") + f"; parser={metrics['parser']}",
    ]
    from ..core.failures import failed_share, mostly_failed

    if mostly_failed(int(metrics.get("n", 0)), int(metrics.get("n_failed", 0))):  # finished, but its number is mostly failures
        lines.append(f"  WARNING: mostly failed: {failed_share(metrics['n'], metrics['n_failed'])}; they count as wrong, "
                     "so this number measures the data more than the model (flagged in status and the report)")
    if (script := official_script(metrics)) is not None:
        lines.append(f"  {script}")
    if metrics.get("accuracy_note"):
        lines.append(f"  ({metrics['accuracy_note']})")
    official = {k: v for k, v in (metrics.get("official") or {}).items() if isinstance(v, (int, float))}
    if official and set(official) != {"videomme_accuracy"}:
        lines.append("  official: " + ", ".join(f"{k} {v:.1f}" for k, v in official.items()))
    for key, groups in metrics.get("by_category", {}).items():
        if key in ("source", "duration", "duration_group", "task_type") and len(groups) <= 12:
            n = metrics.get("by_category_n", {}).get(key, {})
            lines.append(f"  by {key}: " + ", ".join(f"{g} {a:.1f} (n={n.get(g, '?')})" for g, a in groups.items()))
    aux = metrics.get("aux_retrieved", {})
    lines.append("  auxiliary texts retrieved: " + ", ".join(f"{s} {c}" for s, c in aux.items() if c) if any(aux.values())
                 else "  auxiliary texts retrieved: none")
    t = metrics.get("timings", {})
    lines.append(f"  time {t.get('total', 0):.1f} s (" + ", ".join(f"{k} {v:.1f}" for k, v in t.items() if k != "total" and v >= 0.05) + ")")
    lines.append(f"  cell: {cell}")
    print("\n".join(lines), flush=True)
