"""Malformed dataset rows (issue 19): ``options=None``, ``options=[]``, ``question=None``, ``answer=None``,
an answer key that is not one of the options' letters ("Z", "") are each a data failure of that question
(``error_kind: bad_row``, naming the column and the question; counted in ``n_failed``), never a cell
failure and never scored; a question with 12 options keeps all of them (not cut at H).
Issue 25: options whose letters are repeated, skip one, or are missing (Video-MME's options carry
"A. ..."), MLVU questions whose "(A) ..." lines do not letter the candidates A, B, C..., and LongVideoBench
options with an "N/A" gap are bad rows too (before: asked and scored silently: 33.3% / 50% where clean
rows give 66.7%)."""

import pandas as pd
import pytest

import synthetic
from helpers import read_cell, run_cell
from videorag_eval.benchmarks.row_checks import problem
from videorag_eval.scoring.parsers import score_records

TWELVE = [f"{'ABCDEFGHIJKL'[i]}. option {i}" for i in range(12)]
# question_id -> (column changes, what the error must say)
BAD = {
    "bad_options_none": ({"options": None}, "options is None"),
    "bad_options_empty": ({"options": []}, "options has 0 option(s)"),
    "bad_question_none": ({"question": None}, "question is None"),
    "bad_answer_none": ({"answer": None}, "answer is None, not one of the options' letters A-D"),
    "bad_answer_z": ({"answer": "Z"}, "answer is 'Z', not one of the options' letters A-D"),
    "bad_answer_empty": ({"answer": ""}, "answer is '', not one of the options' letters A-D"),
    "bad_letters_repeated": ({"options": ["A. one", "A. two", "B. three", "D. four"]},
                             "the options are lettered A, A, B, D: A repeated; they must be A, B, C, D, each once"),
    "bad_letters_skipped": ({"options": ["A. one", "B. two", "D. three", "E. four"]},
                            "the options are lettered A, B, D, E; they must be A, B, C, D in order"),
    "bad_letters_missing": ({"options": ["A. one", "B. two", "three", "D. four"]},
                            "options[2] is 'three', without the letter prefix Video-MME's options carry ('C. ...')"),
}


@pytest.fixture(scope="module")
def bad_copy(tmp_path_factory):
    root = synthetic.make_videomme(tmp_path_factory.mktemp("badrows") / "videomme")
    ann = root / "videomme" / "test-00000-of-00001.parquet"
    df = pd.read_parquet(ann)
    good = [dict(r, options=list(r["options"])) for r in df[df.videoID.isin(["demo_001", "demo_002"])].to_dict("records")]
    rows = good[:2]
    for i, (qid, (changes, _)) in enumerate(BAD.items()):
        rows.append({**good[i % len(good)], "question_id": qid, **changes})
    rows.append({**good[0], "question_id": "twelve_options", "options": TWELVE, "answer": "K"})
    pd.DataFrame(rows).to_parquet(ann)
    return root


@pytest.fixture(scope="module")
def cell(bad_copy, tmp_path_factory, e2e_cache):
    return run_cell("task=videomme", "rag=none", f"task.data_dir={bad_copy}",
                    f"results_dir={tmp_path_factory.mktemp('res')}", f"cache_dir={e2e_cache}")


@pytest.mark.slow
def test_each_malformed_row_is_a_named_bad_row_failure_and_the_cell_finishes(cell):
    metrics, samples = read_cell(cell)  # before: TypeError in lmms-eval's prompt, the whole cell failed
    assert metrics["n"] == 2 + len(BAD) + 1
    assert metrics["failures"] == {"bad_row": len(BAD)} and metrics["n_failed"] == len(BAD)
    by_id = {s["question_id"]: s for s in samples}
    for qid, (_, why) in BAD.items():
        s = by_id[qid]
        assert s["error_kind"] == "bad_row" and f"question {qid}" in s["error"] and why in s["error"], s["error"]
        assert s["prediction"] == "" and s["correct"] is False  # never asked, never scored right
    assert all(by_id[s]["error"] is None for s in ("001-1", "001-2"))


@pytest.mark.slow
def test_twelve_options_are_all_kept_and_an_answer_past_h_can_be_right(cell):
    _, samples = read_cell(cell)
    s = next(s for s in samples if s["question_id"] == "twelve_options")
    assert s["error"] is None and s["letters"] == "ABCDEFGHIJKL" and s["answer"] == "K"
    assert s["options"] == [f"option {i}" for i in range(12)]  # "I. option 8" lost its letter too
    for parser in ("lmms_eval", "paper"):
        rescored = score_records([{**s, "prediction": "K"}], parser)[0]
        assert rescored["parsed"] == "K" and rescored["correct"] is True, parser


def test_mlvu_and_longvideobench_rows_are_checked_alike():
    mlvu = {"question": "q?\n(A) a\n(B) b", "candidates": ["a", "b"], "answer": "C", "question_id": "m1"}
    assert "answer is 'C', not one of the options' letters A-B" in problem("mlvu", mlvu)
    assert "candidates is None" in problem("mlvu", {**mlvu, "candidates": None})
    assert problem("mlvu", {**mlvu, "answer": "b"}) is None
    lvb = {"question": "q?", "option0": "a", "option1": "b", "option2": "N/A", "correct_choice": 1}
    assert problem("longvideobench", lvb) is None
    assert "correct_choice is 2" in problem("longvideobench", {**lvb, "correct_choice": 2})
    assert "correct_choice is None" in problem("longvideobench", {**lvb, "correct_choice": None})


def test_mlvu_option_lines_and_longvideobench_gaps_are_checked():
    # MLVU's question holds its options as "(A) ..." lines, one per candidate, lettered A, B, C... in order
    mlvu = {"question": "Where?\n(A) cabin\n(B) room\n(C) kitchen", "candidates": ["cabin", "room", "kitchen"],
            "answer": "B"}
    assert problem("mlvu", mlvu) is None
    assert problem("mlvu", {**mlvu, "question": "Where?\n(A) cabin\n(A) room\n(C) kitchen"}) == \
        "the question's option lines (for 3 candidates) are lettered A, A, C: A repeated; they must be A, B, C, each once"
    assert "are lettered A, B; they must be A, B, C in order" in problem(
        "mlvu", {**mlvu, "question": "Where?\n(A) cabin\n(B) room"})
    assert "lists no options as '(A) ...' lines" in problem("mlvu", {**mlvu, "question": "Where?"})
    # a wrapped option line is no option; "A. Lincoln" on the first line is the stem, not an option
    assert problem("mlvu", {**mlvu, "question": "A. Lincoln's cabin: where?\n(A) cabin\n  (wooden)\n(B) room\n(C) kitchen"}) is None
    # LongVideoBench letters options by position: an option after an "N/A" is a gap (prompt and scoring disagree)
    lvb = {"question": "q?", "option0": "a", "option1": "N/A", "option2": "c", "option3": "N/A", "option4": "N/A",
           "correct_choice": 0}
    assert "option1 is 'N/A' but option2 is not" in problem("longvideobench", lvb)
    assert problem("longvideobench", {**lvb, "option1": "b"}) is None
    assert problem("videomme", {"question": "q", "options": TWELVE, "answer": "L"}) is None
    assert "at most 26" in problem("videomme", {"question": "q", "options": [f"o{i}" for i in range(27)], "answer": "A"})
