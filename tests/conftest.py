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
    from videorag_eval.cache import Cache

    return Cache(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def minilm_encoder(session_cache):
    from videorag_eval.retrieval import EncoderSettings, TextEncoder

    return TextEncoder(EncoderSettings(kind="sentence_transformers", model="packaged:all-MiniLM-L6-v2", device="cpu"),
                       session_cache)


@pytest.fixture(scope="session")
def e2e_cache(tmp_path_factory):
    """The extraction cache shared by every end-to-end run of the session (real models run once per video)."""
    return tmp_path_factory.mktemp("e2e_cache")
