"""One damaged cell file never takes a tool down (issue 19): ``status`` and ``report`` list the cell as
unreadable, naming the file and why, and show every good cell; a rerun of a cell whose metrics.json or
identity.json is garbage stops with exit 2 naming the file and the fix (``force=true``).
Issue 25: every field they read is shape- and range-checked: ``by_category`` of the wrong kind (before: report
crashed with AttributeError, no report for the good cells), an accuracy of inf, 150 or -5 (before: shown as a
number), counts above ``n``, a threshold or timing that is not a number, a samples line that is no object."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, run_cli
from helpers import compose
from videorag_eval.cell import state as cell_state
from videorag_eval.cell import identity as cells

GOOD = "f8-none-n4-good"
# cell name -> (file, content, what the tools must say about it)
BAD = {
    "f8-asr-n4-list": ("metrics.json", "[]", "holds a JSON list, not an object"),
    "f8-asr-n4-abc": ("metrics.json", None, "n='abc' is not a non-negative integer"),
    "f8-asr-n4-garbage": ("metrics.json", "{\"n\": 4, \"accur", "not valid JSON"),
    "f8-asr-n4-ident": ("identity.json", "\x00\x01 garbage", "not valid JSON"),
    # issue 25: every field the tools read, checked for shape and range
    "f8-asr-n4-bycat-str": ("metrics.json", {"by_category": "abc"}, "by_category='abc' is not an object"),
    "f8-asr-n4-bycat-list": ("metrics.json", {"by_category": [1, 2]}, "by_category=[1, 2] is not an object"),
    "f8-asr-n4-bycat-inner": ("metrics.json", {"by_category": {"source": ["asr"]}},
                              "by_category.source=['asr'] is not an object of {group: value}"),
    "f8-asr-n4-bycat-value": ("metrics.json", {"by_category": {"source": {"asr": "high"}}},
                              "by_category.source.asr='high' is not a percentage"),
    "f8-asr-n4-inf": ("metrics.json", {"accuracy": float("inf")}, "accuracy=inf is not a percentage"),
    "f8-asr-n4-150": ("metrics.json", {"accuracy": 150}, "accuracy=150 is not a percentage"),
    "f8-asr-n4-neg": ("metrics.json", {"accuracy": -5}, "accuracy=-5 is not a percentage"),
    "f8-asr-n4-failed": ("metrics.json", {"n_failed": 9}, "n_failed=9 is more than n=4"),
    "f8-asr-n4-thr": ("metrics.json", {"rag": {"asr": True, "threshold": "x"}}, "rag.threshold='x' is not a number"),
    "f8-asr-n4-timing": ("metrics.json", {"timings": {"total": "abc"}}, "timings.total='abc' is not a number"),
    "f8-asr-n4-script": ("metrics.json", {"accuracy_official_script": 250},
                         "accuracy_official_script=250 is not a percentage"),
    "f8-asr-n4-unparsable": ("metrics.json", {"unparsable_by_parser": {"paper": -1}},
                             "unparsable_by_parser.paper=-1 is not a count"),
    "f8-asr-n4-sample": ("samples.jsonl", "[1, 2]\n" * 4, "line 1 holds a JSON list, not an object"),
}
# status reads only metrics.json / identity.json / failed.json: what it must list as unreadable
STATUS_READS = ("metrics.json", "identity.json")


def _metrics(correct: list[int], rag: str) -> dict:
    return {"model": "m", "task": "demo", "frames": 8, "n": len(correct), "n_failed": 0, "parser": "lmms_eval",
            "accuracy": round(100 * sum(correct) / len(correct), 2),
            "rag": {"asr": rag == "asr", "ocr": False, "det": False, "subtitles": False, "threshold": 0.3}}


def _cell(root, name: str, rag: str, correct: list[int]):
    cell = root / "demo" / "m" / name
    cell.mkdir(parents=True)
    rows = [{"doc_id": i, "question_id": f"q{i}", "video": f"v{i // 2}.mp4", "correct": bool(c), "answer": "A",
             "prediction": "A" if c else "B", "parsed": "A" if c else "B", "error": None, "categories": {}}
            for i, c in enumerate(correct)]
    (cell / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (cell / "config.yaml").write_text(f"model:\n  name: m\ntask:\n  name: demo\nframes: 8\nlimit: 4\nrag:\n  preset: {rag}\n")
    (cell / "metrics.json").write_text(json.dumps(_metrics(correct, rag)))
    (cell / "identity.json").write_text(json.dumps({"settings": {}, "versions": {}, "annotations": {}}))
    return cell


@pytest.fixture
def tree(tmp_path):
    _cell(tmp_path, GOOD, "none", [1, 0, 1, 0])
    for name, (fname, content, _) in BAD.items():
        cell = _cell(tmp_path, name, "asr", [1, 1, 1, 0])
        if content is None:  # n: "abc"
            content = json.dumps({**_metrics([1, 1, 1, 0], "asr"), "n": "abc"})
        elif isinstance(content, dict):  # a good metrics.json with these fields changed
            content = json.dumps({**_metrics([1, 1, 1, 0], "asr"), **content})
        (cell / fname).write_text(content)
    return tmp_path


def test_status_lists_each_damaged_cell_as_unreadable_and_shows_the_good_one(tree):
    proc = subprocess.run([sys.executable, "-m", "videorag_eval.status", str(tree)], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()

    def line_of(name):
        return next(line for line in lines if f"demo/m/{name}" in line)

    assert line_of(GOOD).split()[:3] == ["finished", "4", "50.0"]
    unreadable = {name: v for name, v in BAD.items() if v[0] in STATUS_READS}
    for name, (fname, _, why) in unreadable.items():
        line = line_of(name)
        assert line.startswith("unreadable") and fname in line and why in line, line
    finished = len(BAD) + 1 - len(unreadable)
    assert (f"{len(BAD) + 1} cell(s): {finished} finished, 0 running, 0 failed, 0 interrupted, {len(unreadable)} "
            "unreadable") in proc.stdout


def test_report_lists_each_damaged_cell_as_unreadable_and_reports_the_good_one(tree):
    proc = subprocess.run([sys.executable, "-m", "videorag_eval.report", str(tree), "--bootstrap", "200"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for name, (fname, _, why) in BAD.items():
        line = next(line for line in proc.stdout.splitlines() if f"demo/m/{name}" in line)
        assert "not reported" in line and "unreadable" in line and fname in line and why in line, line
    assert f"1 finished cell(s), {len(BAD)} not reported" in proc.stdout
    ablation = (tree / "report" / "ablation.csv").read_text()
    assert f"demo/m/{GOOD}" in ablation and "-list" not in ablation
    index = (tree / "report" / "index.html").read_text()
    assert all(f"demo/m/{name}" in index for name in BAD)  # listed on the page too


@pytest.mark.parametrize("fname", ["metrics.json", "identity.json"])
def test_a_rerun_of_a_cell_with_a_garbage_file_names_the_file_and_force(tmp_path, fname):
    args = ("rag=none", "limit=2", f"results_dir={tmp_path}", f"cache_dir={tmp_path / 'cache'}")
    cfg = compose(*args)
    cell = cells.cell_dir(cfg)
    cell.mkdir(parents=True)
    (cell / "identity.json").write_text(json.dumps(cell_state.compute(cfg)))
    (cell / "metrics.json").write_text(json.dumps({"n": 2, "accuracy": 50.0, "parser": "lmms_eval"}))
    (cell / "samples.jsonl").write_text("")
    (cell / fname).write_text("{garbage")
    proc = run_cli(*args, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert str(cell / fname) in proc.stderr and "not valid JSON" in proc.stderr and "force=true" in proc.stderr
    assert "Traceback" not in proc.stderr
