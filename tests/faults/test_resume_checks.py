"""Resume checks what it resumes (issue 25): every journal line carries the cell's identity and the question's
fingerprint (its id, a hash of its question, options and answer key); at resume a line of another cell, a line
written before lines carried them, or one that does not match the dataset row at its ``doc_id`` is dropped with a
warning and the question asked again. Before: lines of another cell, relabelled lines and lines of questions not
in the dataset were kept and scored (83.3% finished where the right number is 100%)."""

import json
import logging

import pytest

from helpers import compose, read_cell, run_cell
from videorag_eval.cell import state as cell_state
from videorag_eval.cell import identity as cells
from videorag_eval.store.journal import Journal


def _args(tmp_path, e2e_cache, *extra):
    return ("rag=none", "limit=4", f"results_dir={tmp_path / 'res'}", f"cache_dir={e2e_cache}", *extra)


def _interrupted(cfg, lines: list[dict]):
    """A cell directory of ``cfg`` as an interrupted run leaves it: its identity and a journal of ``lines``."""
    cell = cells.cell_dir(cfg)
    cell.mkdir(parents=True)
    (cell / "identity.json").write_text(json.dumps(cell_state.compute(cfg)))
    (cell / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return cell


@pytest.fixture(scope="module")
def finished(tmp_path_factory, e2e_cache):
    """A finished cell: its journal is the source of the lines the tests plant elsewhere."""
    tmp = tmp_path_factory.mktemp("src")
    cell = run_cell(*_args(tmp, e2e_cache))
    lines = [json.loads(line) for line in (cell / "journal.jsonl").read_text().splitlines()]
    return cell, lines, read_cell(cell)


def test_each_journal_line_carries_its_cell_and_its_question(finished):
    cell, lines, (_, samples) = finished
    cfg_digest = lines[0]["cell"]
    assert len(cfg_digest) == 16 and cell.name.endswith(cfg_digest[:8])  # the directory's hash, longer
    assert all(r["cell"] == cfg_digest for r in lines)
    for r in lines:
        assert r["fingerprint"]["question_id"] == r["question_id"] and len(r["fingerprint"]["sha256"]) == 16


@pytest.mark.slow
def test_lines_of_another_cell_are_not_kept(finished, tmp_path, e2e_cache, caplog):
    _, lines, _ = finished
    args = _args(tmp_path, e2e_cache, "seed=1")  # another cell (seed is part of its identity)
    _interrupted(compose(*args), lines)
    with caplog.at_level(logging.WARNING):
        metrics, samples = read_cell(run_cell(*args))
    assert metrics["resumed"] == 0  # before: 4, the other cell's answers scored as this one's
    assert "4 line(s) belong to another cell" in caplog.text
    assert {s["cell"] for s in samples} != {lines[0]["cell"]}


@pytest.mark.slow
def test_lines_that_do_not_match_their_row_are_asked_again(finished, tmp_path, e2e_cache, caplog):
    _, lines, (metrics0, samples0) = finished
    args = _args(tmp_path, e2e_cache)
    planted = [dict(r) for r in lines]
    planted[0]["doc_id"], planted[1]["doc_id"] = 1, 0  # two records relabelled with each other's doc_id
    planted[2]["fingerprint"] = {**planted[2]["fingerprint"], "sha256": "0" * 16}  # another text / options / key
    planted.append({**lines[3], "doc_id": 40})  # a question that is not in the dataset (limit=4)
    _interrupted(compose(*args), planted)
    with caplog.at_level(logging.WARNING):
        metrics, samples = read_cell(run_cell(*args))
    assert metrics["resumed"] == 1  # only doc 3's line matches its row
    assert "4 journal line(s) do not match the dataset row at their doc_id" in caplog.text
    assert [s["doc_id"] for s in samples] == [0, 1, 2, 3]  # no question outside the dataset
    assert [s["question_id"] for s in samples] == [s["question_id"] for s in samples0]
    assert [s["prediction"] for s in samples] == [s["prediction"] for s in samples0]
    assert metrics["accuracy"] == metrics0["accuracy"]


@pytest.mark.slow
def test_old_journal_lines_without_identity_are_asked_again(finished, tmp_path, e2e_cache, caplog):
    _, lines, _ = finished
    args = _args(tmp_path, e2e_cache)
    old = [{k: v for k, v in r.items() if k not in ("cell", "fingerprint")} for r in lines[:2]]
    _interrupted(compose(*args), old)
    with caplog.at_level(logging.WARNING):
        metrics, _ = read_cell(run_cell(*args))
    assert metrics["resumed"] == 0 and metrics["n"] == 4
    assert "2 line(s) written by an older videorag_eval carry no cell identity" in caplog.text


def test_the_check_holds_across_rank_files_and_reloads(tmp_path):
    # a line of the right cell but another row, in another rank's file, never wins over the re-asked answer
    fp = {0: {"question_id": "q0", "sha256": "a" * 16}, 1: {"question_id": "q1", "sha256": "b" * 16}}
    (tmp_path / "journal.rank1.jsonl").write_text(json.dumps(
        {"doc_id": 0, "cell": "c" * 16, "fingerprint": fp[1], "error": None, "prediction": "WRONG"}) + "\n")
    journal = Journal(tmp_path / "journal.jsonl", siblings=True, cell="c" * 16)
    assert journal.answered(0) is not None  # nothing to check it against yet
    journal.expect(fp)
    assert journal.answered(0) is None and len(journal) == 0
    journal.append({"doc_id": 0, "fingerprint": fp[0], "error": None, "prediction": "B"})
    journal.reload()  # rank 0 merging the ranks' files: journal.jsonl is read before journal.rank1.jsonl
    assert journal.get(0)["prediction"] == "B" and journal.get(0)["cell"] == "c" * 16
    # a data failure is kept as the question's record but not as answered: a resume checks the data again
    journal.append({"doc_id": 1, "fingerprint": fp[1], "error": "missing_video: x", "error_kind": "missing_video",
                    "prediction": ""})
    assert journal.get(1)["error_kind"] == "missing_video" and journal.answered(1) is None
    assert Journal(tmp_path / "journal.jsonl", siblings=True, cell="d" * 16).records == {}  # another cell's file
