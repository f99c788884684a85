"""Where the Hydra configs (``conf/``) and the task YAMLs and bundled demo data (``tasks/``) are.

In the repository they are top-level folders beside the package; in an installed wheel they ship
inside the package (``videorag_eval/conf``, ``videorag_eval/tasks``: see ``setup.py``). Both
layouts are found from this file, so ``python -m videorag_eval`` works from any directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # videorag_eval/ (this file is videorag_eval/core/resources.py)


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"videorag_eval's {name}/ folder is missing: looked in {_PACKAGE / name} (installed wheel) and "
        f"{_PACKAGE.parent / name} (source checkout). Reinstall the package (pip install videorag_eval)."
    )


CONF_DIR = _find("conf")
TASKS_DIR = _find("tasks")
