import os
from pathlib import Path

import pytest

# Tests never reach a model hub: everything they load is packaged or built in-process.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
DEMO_DATA = REPO / "tasks" / "demo" / "data"


# ----------------------------------------------------------------------------- the fast default and the slow set
# `python -m pytest` runs the fast default (unit tests + one end-to-end cell of each kind on the committed
# pre-extracted cache); `--runslow` adds the tests marked slow (real extraction, whole sweeps, the SLURM cluster,
# kill-and-resume); `--runslow -m slow` runs the slow set alone (.ci/run runs the default, then that).


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (real extraction, sweeps, SLURM); .ci/run does")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config._videorag_slow_deselected = len(slow)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    n = getattr(config, "_videorag_slow_deselected", 0)
    if n:
        terminalreporter.write_line(f"{n} slow tests not run (the fast default): add --runslow to run them too, "
                                    "or --runslow -m slow for the slow set alone")


@pytest.fixture(scope="session")
def demo_data() -> Path:
    assert (DEMO_DATA / "videomme" / "test-00000-of-00001.parquet").exists(), "bundled demo data missing"
    return DEMO_DATA


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    """One extraction cache shared by the slow tests, so real models run once per session."""
    from videorag_eval.store.cache import Cache

    return Cache(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def minilm_encoder(session_cache):
    from videorag_eval.method.retrieval import EncoderSettings, TextEncoder

    return TextEncoder(EncoderSettings(kind="sentence_transformers", model="packaged:all-MiniLM-L6-v2", device="cpu"),
                       session_cache)


@pytest.fixture(scope="session")
def e2e_cache(tmp_path_factory):
    """The extraction cache shared by every end-to-end run of the session: a copy of the committed pre-extracted
    demo cache (tests/fixtures/demo_cache: ASR, OCR and document embeddings of the demo's 10 videos at frames 4
    and 8, made by the real extractors), to which cells add what else they extract (real models run once per
    video). The fast cells run on it with ``require_cache=true`` and load no extractor."""
    from helpers import copy_demo_cache

    return copy_demo_cache(tmp_path_factory.mktemp("e2e_cache"))


@pytest.fixture(scope="session")
def slurm_cluster():
    """A real one-node SLURM cluster on this machine (tests/slurm/start_cluster.sh; reused if running).

    Needs root and Debian's slurmctld/slurmd/munge (.ci/run installs them). Outside CI, a machine that
    cannot have one skips loudly; in CI (``CI`` set, as .ci/run does) a cluster that does not start fails.
    """
    import shutil
    import subprocess

    in_ci = bool(os.environ.get("CI"))
    missing = [b for b in ("slurmctld", "slurmd", "munged", "sbatch") if shutil.which(b) is None]
    reason = None
    if os.geteuid() != 0:
        reason = "the SLURM test cluster needs root (it writes /etc/slurm and starts slurmctld/slurmd/munged)"
    elif missing:
        reason = f"SLURM not installed ({', '.join(missing)} missing): apt-get install slurmctld slurmd munge slurm-client"
    if reason:
        if in_ci:
            pytest.fail(f"CI must run the SLURM tests: {reason}")
        pytest.skip(f"SKIPPING REAL-SLURM TESTS: {reason}")
    proc = subprocess.run(["bash", str(REPO / "tests" / "slurm" / "start_cluster.sh")], capture_output=True, text=True,
                          timeout=180)
    if proc.returncode != 0:
        pytest.fail(f"the local SLURM cluster did not start:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()
