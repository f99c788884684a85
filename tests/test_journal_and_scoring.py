import json

from videorag_eval.store.journal import Journal
from videorag_eval.scoring.parsers import accuracy, by_category, parse_paper, score_records


def test_journal_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.append({"doc_id": 0, "prediction": "A"})
    j.append({"doc_id": 1, "prediction": "B"})
    with path.open("a") as fh:
        fh.write('{"doc_id": 2, "predic')  # the process died mid-write
    again = Journal(path)
    assert sorted(again.records) == [0, 1]
    assert again.get(1)["prediction"] == "B"


def test_paper_parser_rules():
    assert parse_paper("The best answer is B.", "ABCD") == "B"
    assert parse_paper("(C) because the speaker says so", "ABCD") == "C"
    assert parse_paper("it is impossible to tell from these frames what happens later on here", "ABCD") == ""


def test_failed_questions_count_as_wrong_and_breakdowns_follow_categories():
    records = [
        {"doc_id": 0, "prediction": "A", "answer": "A", "letters": "ABCD", "categories": {"source": "asr"}},
        {"doc_id": 1, "prediction": "The answer is C", "answer": "C", "letters": "ABCD", "categories": {"source": "ocr"}},
        {"doc_id": 2, "prediction": "", "answer": "B", "letters": "ABCD", "error": "missing_video", "categories": {"source": "ocr"}},
        {"doc_id": 3, "prediction": "D", "answer": "A", "letters": "ABCD", "categories": {"source": "asr"}},
    ]
    scored = score_records(records, "lmms_eval", "videomme")
    assert [r["correct"] for r in scored] == [True, True, False, False]
    assert accuracy(scored) == 50.0
    acc, n = by_category(scored, ["source", "domain"])
    assert acc == {"source": {"asr": 50.0, "ocr": 50.0}}
    assert n == {"source": {"asr": 2, "ocr": 2}}
