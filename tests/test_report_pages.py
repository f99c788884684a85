"""The report's HTML pages (``report/html.py`` + ``report/templates/``) on a fixed set of hand-written cells.

Golden pages: ``index.html`` and every cell page are compared with ``tests/golden/report/``, after the one
normalisation that does not change the page a browser builds (``canonical``: the HTML parsed into its tags, their
attributes and text, character references decoded, whitespace collapsed, and whitespace that only separates
block-level tags dropped). The cells cover what the pages show: skipped cells, notes, a mostly failed cell,
failed / unparsable / fixed / broken questions, retrieved texts, requests (and their null note), options, the
official script, attribution with missing arms, several models and frame counts. Every string the cells bring
(model name, directory names, question, options, answers, retrieved texts, request, error, results path) carries
HTML metacharacters, so the same pages check the escaping.

Regenerate after an intended change of the pages with ``UPDATE_GOLDEN=1 python -m pytest tests/test_report_pages.py``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden" / "report"
EVIL = "<i id=x>&amp;'\""  # markup, an entity, both quotes: shown as typed, never parsed
MODEL = f"m{EVIL}"
B = 200

# -- the hand-written cells ---------------------------------------------------------------------------

RAGS = {"none": {}, "asr": {"asr": True}, "subtitles": {"subtitles": True},
        "transcript": {"asr": True, "retrieval": False}, "full": {"asr": True, "ocr": True, "det": True}}


def _cell(root: Path, model: str, name: str, rag: str, correct: list[int], *, frames: int = 8, limit: int | None = 6,
          errors: dict[int, str] | None = None, unparsable: int | None = None, script: bool = False,
          threshold: float = 0.3, rich: bool = True, data_dir: str | None = None) -> Path:
    errors = errors or {}
    cell = root / "demo" / model / name
    cell.mkdir(parents=True)
    rows = []
    for i, c in enumerate(correct):
        row = {"doc_id": i, "question_id": f"q{i}{EVIL}" if i == 0 else f"q{i}", "video": f"/data/v{i // 2}{EVIL}.mp4",
               "correct": bool(c) and i not in errors, "answer": "A", "prediction": f"A{EVIL}" if c else "B",
               "parsed": "A" if c else ("" if unparsable and i == 1 else "B"), "aux": {}, "request": None,
               "request_note": f"no retrieval {EVIL}", "error": None,
               "categories": {"source": "asr" if i % 2 else "ocr", "task_type": f"t{i % 3}{EVIL}"}}
        if rich:
            row.update(question=f"What is said? {EVIL}", options=[f"yes {EVIL}", "no", "maybe"], letters="ABC")
        if rich and rag != "none":
            row["aux"] = {"asr": [f"hello {EVIL}", "second line"], "ocr": [], "det": [f"1 person {EVIL}"]}
            row["request"] = {"asr": [f"what {EVIL}"], "det": ["person"], "type": ["location"], "note": "</pre><b>"}
        if i in errors:
            row.update(error=errors[i], error_kind="missing_video", prediction=None, parsed=None, correct=False)
        rows.append(row)
    (cell / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    flags = RAGS[rag]
    rag_d = {"asr": False, "ocr": False, "det": False, "subtitles": False, "threshold": threshold, **flags}
    (cell / "config.yaml").write_text(f"model:\n  name: {json.dumps(model)}\ntask:\n  name: demo\n  data_dir: "
                                      f"{json.dumps(data_dir)}\nframes: {frames}\nlimit: {json.dumps(limit)}\n"
                                      f"parser: lmms_eval\nrag:\n  preset: {rag}\n")
    right = sum(1 for i, c in enumerate(correct) if c and i not in errors)
    metrics = {"model": model, "task": "demo", "frames": frames, "rag": rag_d, "accuracy": round(100 * right / len(correct), 2),
               "accuracy_metric": "videomme_accuracy", "n": len(correct), "n_failed": len(errors),
               "by_category": {"source": {}, "task_type": {}}, "parser": "lmms_eval"}
    if unparsable is not None:
        metrics["n_unparsable"] = unparsable
    if script:
        answered = len(correct) - len(errors) - (unparsable or 0)
        metrics["official_script"] = {"accuracy": 100 * right / answered, "answered": answered,
                                      "left_out": len(correct) - answered}
        metrics["accuracy_official_script"] = 100 * right / answered
    (cell / "metrics.json").write_text(json.dumps(metrics))
    return cell


def make_tree(root: Path) -> Path:
    """A results directory whose path holds HTML metacharacters, with 9 finished cells and 3 skipped ones."""
    results = root / f"results {EVIL}"
    _cell(results, MODEL, "f8-none", "none", [0, 0, 0, 1, 1, 1], unparsable=0, script=True)
    _cell(results, MODEL, f"f8-asr-{EVIL}", "asr", [1, 1, 0, 0, 0, 1], errors={4: f"no such file {EVIL}"},
          unparsable=1, script=True)
    _cell(results, MODEL, "f8-transcript", "transcript", [1, 1, 1, 1, 0, 1], unparsable=0, script=True)
    _cell(results, MODEL, "f8-subtitles", "subtitles", [1, 0, 0, 1, 1, 1])
    _cell(results, MODEL, "f8-full-mostly-failed", "full", [1, 1, 1, 1, 1, 1], errors={1: "x", 2: "y", 3: "z", 5: "w"})
    _cell(results, MODEL, "f8-full-t0.5", "full", [1, 1, 1, 0, 1, 1], threshold=0.5)
    _cell(results, MODEL, "f4-none", "none", [1, 0, 0, 1, 0, 1], frames=4)
    _cell(results, MODEL, "f4-asr-other-data", "asr", [1, 1, 0, 1, 0, 1], frames=4, data_dir="/other", rich=False)
    _cell(results, "plain", "f8-none", "none", [1, 1, 0, 0], limit=4)
    running = results / "demo" / MODEL / "f16-none-running"
    running.mkdir(parents=True)
    (running / "config.yaml").write_text("frames: 16\n")
    failed = results / "demo" / MODEL / f"f16-asr-failed{EVIL}"
    failed.mkdir(parents=True)
    (failed / "failed.json").write_text('{"error": "OOM"}')
    broken = results / "demo" / "plain" / "f8-asr-garbage"
    broken.mkdir(parents=True)
    (broken / "metrics.json").write_text("{garbage")
    (broken / "samples.jsonl").write_text("")
    (broken / "config.yaml").write_text("frames: 8\n")
    return results


# -- comparing pages as a browser reads them -------------------------------------------------------------

BLOCK = {"html", "head", "body", "meta", "title", "style", "script", "h1", "h2", "h3", "p", "div", "ul", "li", "table",
         "thead", "tbody", "tr", "th", "td", "details", "summary"}


class _Canon(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.items.append(("<", tag, tuple(sorted(attrs, key=lambda a: a[0]))))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        self.items.append((">", tag))

    def handle_data(self, data):
        if self.items and self.items[-1][0] == "t":
            self.items[-1] = ("t", self.items[-1][1] + data)
        else:
            self.items.append(("t", data))

    def handle_decl(self, decl):
        self.items.append(("!", decl.lower()))


def canonical(html: str) -> list[str]:
    """The page as a browser builds it, one line per tag or text: whitespace runs collapse to one space (CSS
    ``white-space: normal``; the one ``pre`` holds a single-line JSON), and whitespace next to a block-level tag
    is dropped (it starts or ends a line box, where it is never drawn)."""
    parser = _Canon()
    parser.feed(html)
    parser.close()
    items = parser.items
    lines = []
    for k, item in enumerate(items):
        if item[0] != "t":
            lines.append(" ".join(map(str, item)))
            continue
        text = re.sub(r"\s+", " ", item[1])
        before, after = items[k - 1] if k else None, items[k + 1] if k + 1 < len(items) else None
        if before is None or before[0] == "!" or before[1] in BLOCK:
            text = text.lstrip()
        if after is None or after[1] in BLOCK:
            text = text.rstrip()
        if text:
            lines.append("t " + text)
    return lines


def _page_texts(out: Path, results: Path) -> dict[str, str]:
    """Every page, the temporary directory above the results (no metacharacters in it) written ``TMP``."""
    pages = {"index.html": out / "index.html", **{f"cells/{p.name}": p for p in sorted((out / "cells").glob("*.html"))}}
    return {name: path.read_text(encoding="utf-8").replace(str(results.parent), "TMP") for name, path in pages.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from videorag_eval.report.build import build_report

    results = make_tree(tmp_path_factory.mktemp("pages"))
    res = build_report(results, b=B)
    return results, res.out


def test_pages_equal_the_golden_pages(built):
    results, out = built
    texts = _page_texts(out, results)
    assert len(texts) == 1 + 9
    if os.environ.get("UPDATE_GOLDEN"):
        for old in GOLDEN.rglob("*.html"):
            old.unlink()
        for name, text in texts.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_text(text, encoding="utf-8")
    pages = {name: canonical(text) for name, text in texts.items()}
    golden = {str(p.relative_to(GOLDEN)): canonical(p.read_text(encoding="utf-8")) for p in sorted(GOLDEN.rglob("*.html"))}
    assert sorted(golden) == sorted(pages)
    for name, lines in pages.items():
        if lines != golden[name]:
            diff = "\n".join(list(difflib.unified_diff(golden[name], lines, "golden", "now", lineterm="", n=2))[:60])
            pytest.fail(f"{name} differs from tests/golden/report/{name} (UPDATE_GOLDEN=1 if intended):\n{diff}")


def test_canonical_keeps_what_a_browser_shows():
    """The normalisation forgets only layout whitespace: a lost space between words, a changed attribute or
    text, an escaped tag turned into a real one, all still differ."""
    page = "<table>\n  <tr class='a'>\n    <td>x <b>y</b></td>\n  </tr>\n</table>"
    assert canonical(page) == canonical("<table><tr class=\"a\"><td>x <b>y</b></td></tr></table>")
    assert canonical("<p>&#x27;&amp;</p>") == canonical("<p>&#39;&#38;</p>")
    for other in ("<table><tr class='a'><td>x<b>y</b></td></tr></table>",
                  "<table><tr class='b'><td>x <b>y</b></td></tr></table>",
                  "<table><tr class='a'><td>x <b>z</b></td></tr></table>",
                  "<table><tr class='a'><td>x &lt;b&gt;y&lt;/b&gt;</td></tr></table>"):
        assert canonical(page) != canonical(other), other


# -- escaping ---------------------------------------------------------------------------------------------


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _dom(path: Path) -> _Dom:
    dom = _Dom()
    dom.feed(path.read_text(encoding="utf-8"))
    return dom


def test_every_string_from_the_cells_is_escaped(built):
    from videorag_eval.report.html import page_name

    results, out = built
    pages = [out / "index.html", *sorted((out / "cells").glob("*.html"))]
    for path in pages:
        dom = _dom(path)
        assert not [t for t, a in dom.tags if t == "i" or "id" in a and a["id"] == "x"], path  # no injected element
        assert sum(t == "script" for t, _ in dom.tags) == 1, path  # only the page's own script
        for tag, attrs in dom.tags:  # no attribute was broken out of by a quote
            assert set(attrs) <= {"class", "id", "href", "src", "alt", "charset", "data-kind", "onclick"}, (path, tag, attrs)
        assert EVIL in "".join(dom.text), path  # ... and the text reads exactly as typed
    index = "".join(_dom(out / "index.html").text)
    assert f"{MODEL}" in index and str(results) in index and f"demo/{MODEL}/f16-asr-failed{EVIL}: failed" in index
    asr = out / page_name(f"demo/{MODEL}/f8-asr-{EVIL}")
    dom = _dom(asr)
    text = "".join(dom.text)
    for shown in (f"{MODEL} · demo · 8 frames · asr t0.3", f"What is said? {EVIL}", f"A. yes {EVIL}", f"hello {EVIL}",
                  f"1 person {EVIL}", f"missing_video: no such file {EVIL}", f"q0{EVIL}", f"v0{EVIL}.mp4",
                  json.dumps({"asr": [f"what {EVIL}"], "det": ["person"], "type": ["location"], "note": "</pre><b>"}),
                  f"cell {results}/demo/{MODEL}/f8-asr-{EVIL}"):
        assert shown in text, shown
    # links point at the pages written, whatever the names hold
    for tag, attrs in _dom(out / "index.html").tags:
        if tag == "a" and attrs["href"].startswith("cells/"):
            assert (out / attrs["href"]).is_file(), attrs["href"]
    assert ("a", {"href": "../" + page_name(f"demo/{MODEL}/f8-none")}) in dom.tags


def test_pages_show_the_cells_state(built):
    """What the golden pages hold, said in words: the checks a reader relies on."""
    from videorag_eval.report.html import page_name

    _, out = built
    index = (out / "index.html").read_text(encoding="utf-8")
    dom = _dom(out / "index.html")
    assert "9 finished cell(s)" in "".join(dom.text) and "3 cell(s) not reported" in "".join(dom.text)
    assert sum(t == "tr" and a.get("class") == "cell-row" for t, a in dom.tags) == 9
    assert "mostly failed" in index and "†" in index
    assert "Missing cells (the sweep line that makes them)" in index
    asr = "".join(_dom(out / page_name(f"demo/{MODEL}/f8-asr-{EVIL}")).text)
    assert "unparsable 1" in asr and "official script (eval_your_results.py)" in asr and "2 fixed, 1 broken" in asr
    rows = [a["class"].split() for t, a in _dom(out / page_name(f"demo/{MODEL}/f8-asr-{EVIL}")).tags
            if t == "tr" and "q" in a.get("class", "").split()]
    assert rows == [["q", "right", "fixed"], ["q", "right", "fixed"], ["q", "wrong"], ["q", "wrong", "broken"],
                    ["q", "wrong", "failed"], ["q", "right"]]
    other = "".join(_dom(out / page_name(f"demo/{MODEL}/f4-asr-other-data")).text)
    assert "no rag=none cell to compare with" in other and "question text not recorded" in other
