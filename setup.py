"""Packaging: the top-level ``conf/`` and ``tasks/`` folders ship inside the wheel as
``videorag_eval/conf`` and ``videorag_eval/tasks`` (every file of every sub-folder), so an installed
package finds its Hydra configs, task YAMLs and demo data without the source tree
(``videorag_eval.core.resources``); the report's HTML templates (``videorag_eval/report/templates``) ship beside
their module. Everything else is in pyproject.toml."""

from pathlib import Path

from setuptools import find_packages, setup


def data_packages(folder: str, package: str) -> dict[str, str]:
    root = Path(folder)
    dirs = [root] + sorted(p for p in root.rglob("*") if p.is_dir() and "__pycache__" not in p.parts)
    return {".".join([package, *d.relative_to(root).parts]): d.as_posix() for d in dirs}


DATA = {**data_packages("conf", "videorag_eval.conf"), **data_packages("tasks", "videorag_eval.tasks")}

setup(
    # hydra_plugins.videorag_eval_launcher: Hydra finds launcher plugins only in that namespace package.
    packages=find_packages(include=["videorag_eval", "videorag_eval.*"]) + ["hydra_plugins.videorag_eval_launcher"]
    + sorted(DATA),
    package_dir=DATA,
    package_data={**{name: ["*"] for name in DATA}, "videorag_eval.report": ["templates/*"]},
    exclude_package_data={name: ["*.pyc"] for name in DATA},
)
