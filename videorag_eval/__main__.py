"""``python -m videorag_eval [OVERRIDES]``: evaluate one cell (``-m`` for a sweep).

Exit codes (CONTRACT): 0 every requested cell finished; 2 a setting was refused before any work
(one line names the key, the value and the allowed values); 1 a cell failed systemically. In a
sweep a refused or failed cell does not stop the others (``sweep.py``).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from .core.resources import CONF_DIR


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def app(cfg: DictConfig) -> None:
    import sys

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from .lmms.tasks import quiet_lmms_eval_logs

    quiet_lmms_eval_logs()
    code, message = run(cfg)
    if code == 0:
        return
    print(f"videorag_eval: error: {message}", file=sys.stderr, flush=True)
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:  # the sweep goes on; SweepReport lists failures at its end
        from .sweep import callbacks as sweep

        sweep.record(hydra_cfg.sweep.dir, {"overrides": list(hydra_cfg.overrides.task), "exit_code": code,
                                           "error": message, "job": hydra_cfg.job.num})
        return
    sys.exit(code)


def run(cfg: DictConfig) -> tuple[int, str]:
    """(exit code, one-line message) of one cell."""
    from .benchmarks.subtitles import NoSubtitles
    from .cell.lock import CellBusy
    from .cell.preflight import PreflightFailed
    from .cell.runner import CellFailed, run_cell
    from .cell.settings import ConfigError
    from .lmms.tasks import TaskSetupError
    from .method.pipeline import MissingCache

    try:
        run_cell(cfg)
    except PreflightFailed as exc:  # refused before any work: every problem on its own line
        return 2, str(exc)
    except (ConfigError, TaskSetupError, NoSubtitles, CellBusy, MissingCache) as exc:  # refused before any work
        return 2, " ".join(str(exc).split())
    except CellFailed as exc:
        return 1, " ".join(str(exc).split())
    except Exception as exc:  # a failure outside any cell (e.g. the cell's identity could not be computed)
        import logging

        logging.getLogger("videorag_eval").exception("unexpected failure")
        return 1, f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return 0, ""


def main() -> None:
    import sys

    from .cell.settings import refuse_unknown_choices

    refuse_unknown_choices(sys.argv[1:], CONF_DIR)  # model=foo: one line and exit 2, before Hydra composes
    app()


if __name__ == "__main__":
    main()
