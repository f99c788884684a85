"""Cell identity is honest: identity.json holds settings, versions and the annotation file's hash; a cell
whose stored identity differs is never reused or resumed; a parser change re-scores without the model."""

import json

import pandas as pd
import pytest

import synthetic
from helpers import compose, read_cell, run_cell
from videorag_eval.cell import identity as cells
from videorag_eval.cell.state import IdentityMismatch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def copy_and_cell(tmp_path_factory, e2e_cache):
    root = synthetic.make_videomme(tmp_path_factory.mktemp("vmme") / "videomme")
    results = tmp_path_factory.mktemp("res")
    args = ("rag=none", "limit=3", f"task.data_dir={root}", f"results_dir={results}", f"cache_dir={e2e_cache}")
    return root, args, run_cell(*args)


def test_identity_json_names_versions_and_the_annotation_hash(copy_and_cell):
    root, _, cell = copy_and_cell
    identity = json.loads((cell / "identity.json").read_text())
    assert identity["versions"]["lmms-eval"] and "videorag_eval" in identity["versions"]
    assert identity["annotations"]["file"].endswith("videomme/test-00000-of-00001.parquet")
    assert len(identity["annotations"]["sha256"]) == 64 and identity["settings"]["task"]["data_dir"] == str(root)


def test_a_cell_made_by_another_lmms_eval_is_not_reused(copy_and_cell):
    _, args, cell = copy_and_cell
    path = cell / "identity.json"
    original = path.read_text()
    stored = json.loads(original)
    stored["versions"]["lmms-eval"] = "0.6.0"
    path.write_text(json.dumps(stored))
    try:
        with pytest.raises(IdentityMismatch) as err:
            run_cell(*args)
        assert "versions.lmms-eval: stored '0.6.0'" in str(err.value) and "force=true" in str(err.value)
    finally:
        path.write_text(original)


def test_a_changed_annotation_file_is_not_resumed_and_force_reruns(copy_and_cell, tmp_path):
    root, args, cell = copy_and_cell
    ann = root / "videomme" / "test-00000-of-00001.parquet"
    original = ann.read_bytes()
    old_hash = json.loads((cell / "identity.json").read_text())["annotations"]["sha256"]
    df = pd.read_parquet(ann)
    df.loc[0, "answer"] = "D" if df.loc[0, "answer"] != "D" else "A"
    df.to_parquet(ann)
    try:
        with pytest.raises(IdentityMismatch) as err:
            run_cell(*args)
        assert "annotations.sha256" in str(err.value)
        assert run_cell(*args, "force=true") == cell  # force=true: re-run from scratch with the new identity
        assert json.loads((cell / "identity.json").read_text())["annotations"]["sha256"] != old_hash
    finally:
        ann.write_bytes(original)
        run_cell(*args, "force=true")


def test_a_parser_change_rescores_stored_predictions_without_the_model(copy_and_cell, monkeypatch):
    _, args, cell = copy_and_cell
    assert cells.cell_dir(compose(*args, "parser=paper")) == cell  # the parser is not part of the run identity
    before, _ = read_cell(cell)

    def no_model(*a, **k):
        raise AssertionError("a parser change must not run the model")

    monkeypatch.setattr("videorag_eval.cell.runner.build_inner", no_model)
    monkeypatch.setattr("videorag_eval.cell.runner.build_pipeline", no_model)
    run_cell(*args, "parser=paper")
    after, samples = read_cell(cell)
    assert after["parser"] == "paper" and after["rescored_from"] == before["parser"] == "lmms_eval"
    assert after["accuracy"] == before["accuracy_by_parser"]["paper"]
    assert set(after["accuracy_by_parser"]) == {"lmms_eval", "paper"}
    assert [s["prediction"] for s in samples] == [s["prediction"] for s in read_cell(cell)[1]]


def test_an_interrupted_data_parallel_cell_of_another_version_is_not_resumed(tmp_path):
    from videorag_eval.cell import state as cell_state

    cell = tmp_path / "cell"
    cell.mkdir()
    stored = {"settings": {"frames": 8}, "versions": {"lmms-eval": "0.6.0"}, "annotations": {"sha256": "a"}}
    cell_state.write_identity(cell, stored)
    (cell / "journal.rank1.jsonl").write_text(json.dumps({"doc_id": 0, "error": None, "prediction": "A"}) + "\n")
    wanted = {**stored, "versions": {"lmms-eval": "0.7.3"}}
    with pytest.raises(IdentityMismatch, match="lmms-eval"):  # only rank files: still results of another version
        cell_state.check(cell, wanted)
    cell_state.check(cell, stored)  # the same identity resumes
