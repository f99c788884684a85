"""The lock (``lock/requirements.txt``): every dependency pinned with hashes, consistent with
pyproject's ranges, closed under dependencies, and the environment the tests run in."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "lock" / "requirements.txt"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lock: Path = LOCK) -> dict[str, tuple[str, str]]:
    """name -> (version, the whole entry with its hashes)."""
    text = lock.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    pins = {}
    for entry in entries:
        if m := re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", entry):
            pins[_norm(m.group(1))] = (m.group(2), entry)
    return pins


def _project_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + project["optional-dependencies"]["demo"] + project["optional-dependencies"]["test"]
    return [Requirement(r) for r in reqs]


def test_every_entry_is_pinned_with_hashes():
    pins = _pins()
    assert len(pins) > 150
    for name, (version, entry) in pins.items():
        assert "--hash=sha256:" in entry, name


def test_the_lock_satisfies_pyprojects_ranges():
    pins = _pins()
    for req in _project_requirements():
        assert _norm(req.name) in pins, f"{req.name} is not in the lock"
        assert req.specifier.contains(pins[_norm(req.name)][0], prereleases=True), (req, pins[_norm(req.name)][0])
    # the releases known to break are out: transformers 5.x (LLaVA-NeXT), filelock 4.3 (lmms-eval's evaluator)
    assert pins["transformers"][0].startswith("4.57.")
    assert tuple(int(x) for x in pins["filelock"][0].split(".")[:2]) < (4, 3)


def test_the_lock_is_closed_under_dependencies():
    """Every requirement of every locked package (for this platform) is itself locked: nothing is left
    for pip to choose on the day of the install."""
    pins = _pins()
    missing = set()
    for name in pins:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if _norm(req.name) not in pins:
                missing.add(f"{req.name} (needed by {name})")
    assert not missing, sorted(missing)


def test_the_tests_run_in_the_locked_environment():
    """CI installs the lock; a drifted environment is what the provenance in metrics.json reports."""
    from videorag_eval.runtime.provenance import environment

    env = environment()
    assert env is not None and env["lock_sha256"]
    assert env["matches_lock"], f"installed packages differ from the lock: {env['not_as_locked']}"


SERVING_LOCK = REPO / "lock" / "vllm" / "requirements.txt"
# What vLLM 0.23.0 moves away from the main lock: torch and torchvision (its pins, lock/vllm/overrides.txt) and
# what follows torch 2.11.0 (triton, CUDA libraries, setuptools<82), numpy<2.4 (mistral-common, a vLLM dependency).
MOVED_BY_VLLM = {"torch", "torchvision", "triton", "setuptools", "numpy", "cuda-bindings", "cuda-toolkit"}


def test_the_serving_lock_is_the_main_lock_plus_vllm():
    """lock/vllm/requirements.txt: every entry hashed; vLLM 0.23.0 with the torch it pins and the main lock's
    transformers; every package of the main lock in it, at the main lock's version unless vLLM moves it."""
    main, serving = _pins(), _pins(SERVING_LOCK)
    for name, (version, entry) in serving.items():
        assert "--hash=sha256:" in entry, name
    assert serving["vllm"][0] == "0.23.0"
    overrides = dict(line.split("==") for line in (REPO / "lock" / "vllm" / "overrides.txt").read_text().splitlines()
                     if line and not line.startswith("#"))
    assert {k: serving[k][0] for k in overrides} == overrides == {"torch": "2.11.0", "torchvision": "0.26.0"}
    assert serving["transformers"][0] == main["transformers"][0]  # the harness's and the LLaVA family's 4.57
    assert set(main) <= set(serving), sorted(set(main) - set(serving))
    moved = {n for n in main if main[n][0] != serving[n][0]}
    assert moved <= MOVED_BY_VLLM | {n for n in moved if n.startswith("nvidia-")}, sorted(moved)
    for req in _project_requirements():  # pyproject's ranges hold, torch/torchvision aside (vLLM's own pins)
        if _norm(req.name) not in overrides:
            assert req.specifier.contains(serving[_norm(req.name)][0], prereleases=True), req
