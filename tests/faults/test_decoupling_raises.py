"""An inner model that raises on the decoupling request: a one-off is a degraded question (answered
from question + options, recorded, asked again when an unfinished cell resumes); a rule (3 requests in
a row) stops the cell, because every question would silently lose the method's queries."""

from __future__ import annotations

import json

import pytest

from conftest import cells_under
from helpers import read_cell, run_cell
from videorag_eval.models import scripted
from videorag_eval.cell.runner import CellFailed

pytestmark = pytest.mark.slow


@pytest.fixture
def raising_on(monkeypatch):
    """Make the scripted stand-in raise on the decoupling prompt of the n-th decoupling call for n in ``calls``."""
    real = scripted.ScriptedLVLM.generate_until
    state = {"n": 0, "raise": set()}

    def generate_until(self, requests):
        if any(scripted.DECOUPLING_MARKER in r.args[0] for r in requests):
            state["n"] += 1
            if state["n"] in state["raise"]:
                raise TypeError("generate_until() got an unexpected visual of type NoneType")
        return real(self, requests)

    monkeypatch.setattr(scripted.ScriptedLVLM, "generate_until", generate_until)

    def set_calls(calls):
        state["n"], state["raise"] = 0, set(calls)

    return set_calls


def _args(tmp_path, e2e_cache, limit):
    script = tmp_path / "script.json"  # its own script file: its own decoupling-cache key, so replies are generated
    script.write_text(json.dumps({"*": {"ASR": "what the narrator says", "DET": None, "TYPE": None}}))
    return ("model=scripted", f"model.model_args.script={script}", "rag=asr", f"limit={limit}",
            f"results_dir={tmp_path / 'results'}", f"cache_dir={e2e_cache}")


def test_a_model_that_always_raises_stops_the_cell(tmp_path, e2e_cache, raising_on):
    raising_on(range(1, 100))
    with pytest.raises(CellFailed) as err:
        run_cell(*_args(tmp_path, e2e_cache, 4))
    msg = str(err.value)
    assert "3 decoupling requests in a row" in msg and "TypeError" in msg
    assert "model.decouple_route=with_video" in msg and "rag.decouple=fallback" in msg
    [cell] = cells_under(tmp_path / "results")
    assert not (cell / "metrics.json").exists()
    assert json.loads((cell / "failed.json").read_text())["answered"] == 0  # the 2 that fell back do not count


def test_a_one_off_raise_is_a_degraded_question(tmp_path, e2e_cache, raising_on):
    raising_on({3})
    metrics, samples = read_cell(run_cell(*_args(tmp_path, e2e_cache, 5)))
    hit = [s for s in samples if s.get("request_error")]
    assert len(hit) == 1 and "TypeError" in hit[0]["request_error"]
    assert hit[0]["request"] is None and hit[0]["prediction"]  # answered, from question + options
    assert [w["kind"] for w in hit[0]["warnings"]] == ["decoupling_raised"]
    assert metrics["decoupling"]["decouple_raised"] == 1 and metrics["degraded"] == {"decoupling_raised": 1}
    assert metrics["n_failed"] == 0 and metrics["n"] == 5


def test_three_in_a_row_stop_the_cell_and_a_resume_reasks_them(tmp_path, e2e_cache, raising_on):
    raising_on({2, 3, 4})
    args = _args(tmp_path, e2e_cache, 8)
    with pytest.raises(CellFailed) as err:
        run_cell(*args)
    assert "3 decoupling requests in a row" in str(err.value)
    [cell] = cells_under(tmp_path / "results")
    journal = [json.loads(line) for line in (cell / "journal.jsonl").read_text().splitlines()]
    assert len(journal) == 3 and sum(bool(r.get("request_error")) for r in journal) == 2

    # the resume asks docs 1 and 2 again; doc 1 raises again (a question that always raises), doc 2 works:
    # one persistent failure does not block the cell, it finishes with that question degraded
    raising_on({1})
    metrics, samples = read_cell(run_cell(*args))
    assert metrics["resumed"] == 1  # only the question decoupled as the method asks is kept
    assert metrics["n"] == 8 and metrics["degraded"] == {"decoupling_raised": 1}
    assert [s["doc_id"] for s in samples if s.get("request_error")] == [1]


def test_a_clean_answer_wins_over_a_fallen_back_one_whatever_file_it_is_in(tmp_path):
    from videorag_eval.store.journal import Journal

    cell = tmp_path / "cell"
    cell.mkdir()
    clean = {"doc_id": 3, "error": None, "prediction": "B", "request_error": None}
    fallen = {"doc_id": 3, "error": None, "prediction": "A", "request_error": "TypeError: x"}
    # a 2-rank run left the fallen-back answer in rank 1's file; a one-process resume answered it cleanly
    (cell / "journal.rank1.jsonl").write_text(json.dumps(fallen) + "\n")
    Journal(cell / "journal.jsonl").append(clean)
    merged = Journal(cell / "journal.jsonl", siblings=True)  # reads journal.jsonl before journal.rank1.jsonl
    assert merged.get(3)["prediction"] == "B" and merged.answered(3) is not None and len(merged) == 1


def test_cached_replies_do_not_hide_a_model_that_now_always_raises(tmp_path, e2e_cache, raising_on):
    args = _args(tmp_path, e2e_cache, 8)
    raising_on({2, 4, 6, 8})  # one-offs between replies that work: the first cell finishes, 4 questions degraded
    metrics, _ = read_cell(run_cell(*args))
    assert metrics["decoupling"]["generated"] == 4 and metrics["degraded"] == {"decoupling_raised": 4}

    # a second cell of the sweep: the odd questions' replies come from the cache, every generation raises
    raising_on(range(1, 100))
    with pytest.raises(CellFailed) as err:
        run_cell(*args, "rag.threshold=0.5")
    assert "3 decoupling requests in a row" in str(err.value)
