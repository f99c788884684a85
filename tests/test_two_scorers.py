"""Video-MME under both scorers: lmms-eval's (the headline: an unparsable answer counts wrong) and the
benchmark's own ``eval_your_results.py`` (an answer its extractor cannot read leaves the denominator), and
``n_unparsable`` for every benchmark."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import REPO, compose
from videorag_eval.scoring.metrics import score_fields
from videorag_eval.scoring.parsers import VIDEOMME_SCRIPT_PREFIXES, parse_lmms_eval, parse_videomme_script

DEMO = REPO / "tasks" / "demo" / "data" / "videomme" / "test-00000-of-00001.parquet"


@pytest.mark.parametrize("response,expected", [
    ("C", "C"), ("(D) the harbour", "D"), ("The best answer is A", "A"), ("The correct answer is B.", "B"),
    ("The answer is D", "D"), ("The answer: C", "C"),
    # the prefix list's two missing commas: "Best answer:" and "Best option:" are never stripped alone, so the B
    # of "Best" is the first capital A-D; "The best option is"/"The correct option is" neither, harmlessly here
    ("Best answer: C", "B"), ("Best option: D", "B"), ("The best option is A", "A"), ("The correct option is C", "C"),
    ("The best option isThe correct option is D", "D"), ("Best answer:Best option: C", "C"),  # the joined strings
    ("I cannot tell from these frames what happens in the rest of this video at all", ""),
    ("I don't know", ""), ("", ""), ("c", ""), ("Dogs are shown", "D"),
])
def test_official_extractor_follows_the_script_quirks_included(response, expected):
    assert parse_videomme_script(response) == expected


def test_prefix_list_is_the_scripts_with_its_two_joined_pairs():
    assert VIDEOMME_SCRIPT_PREFIXES == ("The best answer is", "The correct answer is", "The answer is", "The answer",
                                        "The best option isThe correct option is", "Best answer:Best option:")


def _records(predictions: list[str]) -> tuple[list[dict], list[dict]]:
    from videorag_eval.benchmarks.schemas import get_schema

    docs = pd.read_parquet(DEMO).head(len(predictions)).to_dict("records")
    schema = get_schema("videomme")
    records = []
    for i, (doc, pred) in enumerate(zip(docs, predictions)):
        q = schema.to_question(doc, i, "video.mp4")
        records.append({"doc_id": i, "question_id": q.question_id, "answer": q.answer, "letters": "".join(q.letters),
                        "categories": q.categories, "prediction": pred, "error": None if pred else "missing_video"})
    return docs, records


def test_the_two_denominators_differ_exactly_as_the_two_scripts_do():
    from lmms_eval.tasks.videomme import utils as vm

    docs = pd.read_parquet(DEMO).head(12).to_dict("records")
    answers = [d["answer"] for d in docs]
    wrong = {a: next(x for x in "ABCD" if x != a) for a in "ABCD"}
    predictions = (answers[:6]  # 6 right
                   + [wrong[answers[6]], wrong[answers[7]]]  # 2 wrong
                   + ["I don't know", "Sorry, the video does not show it"]  # 2 no reader can read
                   + [""])  # 1 never asked (a missing video): no answer at all
    # and one both read, differently: lmms-eval takes the C after "Best answer:", the script the B of "Best"
    assert answers[11] == "C"
    predictions.append("Best answer: C")
    _, records = _records(predictions)
    fields, _ = score_fields(compose("task=videomme"), records)

    # lmms-eval's own process_results + aggregate on the same predictions: every question in the denominator
    theirs = vm.videomme_aggregate_results([vm.videomme_process_results(d, [p])["videomme_perception_score"]
                                            for d, p in zip(docs, predictions)])
    assert fields["accuracy"] == pytest.approx(theirs, abs=0.01) == pytest.approx(100 * 7 / 12, abs=0.01)
    # the official script: answered = readable; the 2 unreadable and the 1 empty answer leave the denominator, and
    # "Best answer: C" reads "B": wrong
    script = fields["official_script"]
    assert script["answered"] == 9 and script["left_out"] == 3 and script["unreadable"] == 2 and script["no_prediction"] == 1
    assert script["correct"] == 6 and fields["accuracy_official_script"] == 66.67
    assert fields["accuracy"] == 58.33
    assert fields["n_unparsable"] == 2 and fields["n_unanswered"] == 1 and fields["n_failed"] == 1
    assert parse_lmms_eval(predictions[11], "ABCD") == answers[11]


@pytest.mark.parametrize("task,unreadable", [("mlvu", "I am not sure"), ("longvideobench", "I am not sure"),
                                              ("videomme", "I am not sure")])
def test_every_benchmark_counts_unparsable_answers(task, unreadable):
    records = [{"doc_id": i, "question_id": f"q{i}", "answer": "A", "letters": "ABCD",
                "categories": {"task_type": "count"} if task == "mlvu" else {}, "prediction": p, "error": None}
               for i, p in enumerate(["A", "B", unreadable, unreadable, ""])]
    records[-1]["error"] = "missing_video"
    fields, scored = score_fields(compose(f"task={task}"), records)
    assert fields["n_unparsable"] == 2 and fields["n_unanswered"] == 1
    assert fields["unparsable_by_parser"] == {"lmms_eval": 2, "paper": 2}
    assert [r["unparsable"] for r in scored] == [False, False, True, True, False]
    if task == "longvideobench":  # its rule answers a random letter for them: still counted as unparsable
        assert all(r["parsed"] for r in scored[:4])
    assert ("accuracy_official_script" in fields) == (task == "videomme")


def test_summary_names_the_split_and_shows_both_scorers(capsys, tmp_path):
    from videorag_eval.report.summary import print_summary

    base = {"model": "m", "frames": 8, "rag": {"label": "none"}, "accuracy": 50.0, "n": 4, "n_failed": 0, "parser": "lmms_eval",
            "n_unparsable": 1}
    print_summary({**base, "task": "mlvu"}, tmp_path)
    print_summary({**base, "task": "longvideobench"}, tmp_path)
    print_summary({**base, "task": "videomme", "official_script": {"accuracy": 66.67, "answered": 3, "left_out": 1}}, tmp_path)
    out = capsys.readouterr().out
    assert "on MLVU dev (M-Avg)," in out and "on LVB val," in out and "unparsable 1" in out
    assert "official script (eval_your_results.py) 66.7% over the 3 answers it reads (1 left out" in out
