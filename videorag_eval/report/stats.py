"""Statistics of the report: cluster bootstrap over videos, paired deltas, paired tests.

Questions of one video are not independent (Video-MME asks 3 per video), so every interval here
resamples *videos* with replacement, keeping all questions of a drawn video together, and takes the
ratio (correct answers / questions) of each resample; the 95% interval is the 2.5-97.5 percentile
of ``B`` resamples. All cells of one comparison group share one draw of resampled videos (drawn
once per group from a seed derived from the group, so the report does not depend on the order it
reads cells in), which makes the whole report a few matrix products:
``counts (B x V) @ per-video sums (V)``.

A delta between two cells is paired: only questions both cells answered (no error), matched by
``question_id``; per video the sum of (correct_a - correct_b) and the number of shared questions are
resampled together. ``p`` of a delta is the paired cluster bootstrap's two-sided test of "no
difference" (the resampled deltas shifted to mean zero under the null):
``p = (1 + #{|delta* - delta| >= |delta|}) / (B + 1)``, so identical cells get ``p = 1``.
``mcnemar`` is the exact McNemar test on the discordant pairs, for reference: it treats questions as
independent, which they are not, so it is not what the report's ``p_vs_none`` uses.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DEFAULT_B = 2000
DEFAULT_SEED = 0


def group_seed(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "little")


def video_set_key(videos: list[str]) -> str:
    return hashlib.sha256("\n".join(videos).encode()).hexdigest()[:16]


def resample_counts(n_videos: int, b: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``n_videos`` videos is drawn in each of ``b`` resamples (b x V, float64).
    Each row sums to ``n_videos`` (a resample has as many videos as the data)."""
    if n_videos == 0:
        return np.zeros((b, 0))
    draws = rng.integers(0, n_videos, size=(b, n_videos))
    flat = (draws + (np.arange(b) * n_videos)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n_videos).reshape(b, n_videos).astype(np.float64)


def per_video(video_index: np.ndarray, values: np.ndarray, n_videos: int) -> np.ndarray:
    """Sum of ``values`` per video."""
    return np.bincount(video_index, weights=values.astype(np.float64), minlength=n_videos)


def ratio_replicates(counts: np.ndarray, sums: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Bootstrap replicates of sum/size; a resample with no question gives NaN."""
    rep = Replicator(counts)
    return rep.ratios(rep.add(sums, sizes))[:, 0]


class Replicator:
    """Collects per-video (sum, size) columns of many statistics over one set of videos, then computes
    every bootstrap ratio in ONE product ``counts (B x V) @ columns (V x 2K)``: reading the B x V
    resample counts once per group instead of once per statistic is what makes 100 cells fast.
    The columns hold integers (answers, differences, question counts), so float32 is exact here."""

    def __init__(self, counts: np.ndarray):
        self.counts = counts
        self._sums: list[np.ndarray] = []
        self._sizes: list[np.ndarray] = []
        self._k = 0
        self._num: np.ndarray | None = None
        self._den: np.ndarray | None = None

    def add(self, sums: np.ndarray, sizes: np.ndarray) -> slice:
        if self._num is not None:
            raise RuntimeError("Replicator: columns added after the ratios were computed")
        sums = sums.reshape(sums.shape[0], -1)
        sizes = sizes.reshape(sizes.shape[0], -1)
        self._sums.append(sums)
        self._sizes.append(sizes)
        self._k += sums.shape[1]
        return slice(self._k - sums.shape[1], self._k)

    def ratios(self, columns: slice) -> np.ndarray:
        if self._num is None:
            counts = self.counts.astype(np.float32, copy=False)
            block = np.concatenate(self._sums + self._sizes, axis=1).astype(np.float32)
            both = (counts @ block).astype(np.float64)
            self._num, self._den = both[:, :self._k], both[:, self._k:]
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._num[:, columns] / self._den[:, columns]


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    n: int  # questions used
    n_videos: int


@dataclass(frozen=True)
class Delta:
    estimate: float  # percentage points, a - b on the shared answered questions
    low: float
    high: float
    p: float  # paired cluster bootstrap, two-sided
    p_mcnemar: float  # exact McNemar (questions as independent), for reference
    n_paired: int
    a_only: int  # questions a got right and b wrong
    b_only: int


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    alpha = (1.0 - level) / 2.0
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(finite, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return float(lo), float(hi)


def prepare_accuracy(correct: np.ndarray, video_index: np.ndarray, rep: Replicator) -> Callable[[], Interval]:
    """Registers a cell's accuracy with ``rep``; the returned function gives its Interval."""
    n_videos = rep.counts.shape[1]
    sizes = np.bincount(video_index, minlength=n_videos).astype(np.float64)
    cols = rep.add(per_video(video_index, correct, n_videos), sizes)
    est = 100.0 * correct.mean() if correct.size else float("nan")

    def result() -> Interval:
        lo, hi = percentile_interval(100.0 * rep.ratios(cols)[:, 0])
        # the percentile interval of a ratio can miss the estimate by rounding only; keep it bracketing
        return Interval(est, min(lo, est), max(hi, est), int(correct.size), int(np.count_nonzero(sizes)))

    return result


def accuracy_interval(correct: np.ndarray, video_index: np.ndarray, counts: np.ndarray) -> Interval:
    """Accuracy (percent) of one cell with its cluster-bootstrap 95% interval; ``video_index`` maps
    each question to a column of ``counts``."""
    return prepare_accuracy(correct, video_index, Replicator(counts))()


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p: binomial test of the discordant pairs against 1/2."""
    from scipy.special import bdtr  # binomial CDF (scipy.stats would cost 2 s of imports)

    n = a_only + b_only
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * bdtr(min(a_only, b_only), n, 0.5)))


def bootstrap_p(replicates: np.ndarray, estimate: float) -> float:
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan")
    extreme = np.abs(finite - estimate) >= abs(estimate) - 1e-9
    return float((1 + np.count_nonzero(extreme)) / (finite.size + 1))


def _paired(a_correct: np.ndarray, b_correct: np.ndarray) -> tuple[np.ndarray, int, int, int]:
    """Per question a - b (1, 0, -1), the number of questions, those right only in a, only in b."""
    diff = a_correct.astype(np.float64) - b_correct.astype(np.float64)
    return diff, int(diff.size), int(np.count_nonzero(diff > 0)), int(np.count_nonzero(diff < 0))


def _no_delta() -> Delta:
    """No shared question: nothing to compare."""
    nan = float("nan")
    return Delta(nan, nan, nan, nan, nan, 0, 0, 0)


def prepare_delta(a_correct: np.ndarray, b_correct: np.ndarray, video_index: np.ndarray,
                  rep: Replicator) -> Callable[[], Delta]:
    """Registers the delta a - b over already paired questions; the returned function gives it."""
    n_videos = rep.counts.shape[1]
    diff, n, a_only, b_only = _paired(a_correct, b_correct)
    if n == 0:
        return _no_delta
    est = 100.0 * diff.mean()
    cols = rep.add(per_video(video_index, diff, n_videos), np.bincount(video_index, minlength=n_videos).astype(np.float64))

    def result() -> Delta:
        reps = 100.0 * rep.ratios(cols)[:, 0]
        lo, hi = percentile_interval(reps)
        return Delta(est, min(lo, est), max(hi, est), bootstrap_p(reps, est), mcnemar_exact(a_only, b_only), n,
                     a_only, b_only)

    return result


def paired_delta(a_correct: np.ndarray, b_correct: np.ndarray, video_index: np.ndarray, counts: np.ndarray) -> Delta:
    """Delta a - b (percentage points) over questions already paired (same order, both answered)."""
    return prepare_delta(a_correct, b_correct, video_index, Replicator(counts))()


def prepare_grouped(diff: np.ndarray, video_index: np.ndarray, group_index: np.ndarray, n_groups: int,
                    rep: Replicator) -> Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Registers paired deltas per group of questions (categories); the returned function gives
    estimate, low, high, n per group (NaN where a group has no question)."""
    n_videos = rep.counts.shape[1]
    cells = video_index * n_groups + group_index
    sums = np.bincount(cells, weights=diff.astype(np.float64), minlength=n_videos * n_groups).reshape(n_videos, n_groups)
    sizes = np.bincount(cells, minlength=n_videos * n_groups).reshape(n_videos, n_groups).astype(np.float64)
    n = sizes.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = 100.0 * sums.sum(axis=0) / n
    cols = rep.add(sums, sizes)

    def result():
        reps = 100.0 * rep.ratios(cols)
        low = np.full(n_groups, np.nan)
        high = np.full(n_groups, np.nan)
        has = n > 0
        if has.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN resamples of small groups
                lo, hi = np.nanpercentile(reps[:, has], [2.5, 97.5], axis=0)
            low[has] = np.minimum(lo, est[has])
            high[has] = np.maximum(hi, est[has])
        return est, low, high, n

    return result


def grouped_deltas(diff: np.ndarray, video_index: np.ndarray, group_index: np.ndarray, n_groups: int,
                   counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Paired deltas (percentage points) per group of questions at once, with cluster-bootstrap intervals."""
    return prepare_grouped(diff, video_index, group_index, n_groups, Replicator(counts))()


def _macro_columns(values: np.ndarray, video_index: np.ndarray, group_index: np.ndarray, n_groups: int,
                   rep: Replicator) -> tuple[slice, np.ndarray, float]:
    """Registers per-(video, group) sums and sizes; (columns, groups present, estimate in percent:
    the mean over the groups present of each group's mean)."""
    n_videos = rep.counts.shape[1]
    cells = video_index * n_groups + group_index
    sums = np.bincount(cells, weights=values.astype(np.float64), minlength=n_videos * n_groups).reshape(n_videos, n_groups)
    sizes = np.bincount(cells, minlength=n_videos * n_groups).reshape(n_videos, n_groups).astype(np.float64)
    n = sizes.sum(axis=0)
    has = n > 0
    est = float(100.0 * np.mean(sums.sum(axis=0)[has] / n[has])) if has.any() else float("nan")
    return rep.add(sums, sizes), has, est


def _macro_replicates(rep: Replicator, cols: slice, has: np.ndarray) -> np.ndarray:
    """Per resample, the mean over the groups present (a group no drawn video has is left out of it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample with no question of any group: NaN
        return 100.0 * np.nanmean(rep.ratios(cols)[:, has], axis=1)


def prepare_macro_accuracy(correct: np.ndarray, video_index: np.ndarray, group_index: np.ndarray, n_groups: int,
                           rep: Replicator) -> Callable[[], Interval]:
    """A macro accuracy (MLVU's M-Avg: the mean over task types present of each type's accuracy) with its
    cluster-bootstrap interval over videos; ``group_index`` gives each question's type."""
    cols, has, est = _macro_columns(correct, video_index, group_index, n_groups, rep)
    n_videos = int(np.count_nonzero(np.bincount(video_index, minlength=rep.counts.shape[1])))

    def result() -> Interval:
        lo, hi = percentile_interval(_macro_replicates(rep, cols, has))
        return Interval(est, min(lo, est), max(hi, est), int(correct.size), n_videos)

    return result


def prepare_macro_delta(a_correct: np.ndarray, b_correct: np.ndarray, video_index: np.ndarray, group_index: np.ndarray,
                        n_groups: int, rep: Replicator) -> Callable[[], Delta]:
    """The paired delta of a macro accuracy over already paired questions: the mean over the groups
    present of each group's paired delta (= macro(a) - macro(b) on those questions)."""
    diff, n, a_only, b_only = _paired(a_correct, b_correct)
    if n == 0:
        return _no_delta
    cols, has, est = _macro_columns(diff, video_index, group_index, n_groups, rep)

    def result() -> Delta:
        reps = _macro_replicates(rep, cols, has)
        lo, hi = percentile_interval(reps)
        return Delta(est, min(lo, est), max(hi, est), bootstrap_p(reps, est), mcnemar_exact(a_only, b_only), n,
                     a_only, b_only)

    return result
