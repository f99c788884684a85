import os
from pathlib import Path

import pytest

# Tests never reach a model hub: everything they load is packaged or built in-process.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
DEMO_DATA = REPO / "tasks" / "demo" / "data"


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
    """The extraction cache shared by every end-to-end run of the session (real models run once per video)."""
    return tmp_path_factory.mktemp("e2e_cache")


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
