"""Query decoupling: the prompt, the tolerant parser, the fallback and the retrieval query texts."""

from __future__ import annotations

import json
import re

import pytest

from videorag_eval.method.decoupling.parse import fallback_request, parse_decoupling
from videorag_eval.method.decoupling.prompt import EXAMPLES, MAX_DET, build_decoupling_prompt
from videorag_eval.method.query import query_texts
from videorag_eval.core.records import TYPES as TYPE_VALUES
from videorag_eval.core.records import DecoupledRequest, Question


def make_question(options=("Red", "Blue", "Green", "Black")) -> Question:
    return Question(
        doc_id=3,
        question_id="q-003",
        video="/videos/demo.mp4",
        question="What color is the umbrella the man carries in the rain?",
        options=tuple(options),
        answer="B",
    )


def notes_of(req: DecoupledRequest) -> list[str]:
    return req.reason.split("; ") if req.reason else []


# ------------------------------------------------------------------------------------------
# clean outputs
# ------------------------------------------------------------------------------------------
def test_clean_json_has_no_reason_and_keeps_raw():
    raw = '{"ASR": "the year the bridge opened", "DET": ["bridge", "car"], "TYPE": ["number", "relation"]}'
    req = parse_decoupling(raw)
    assert req.ok is True
    assert req.asr == "the year the bridge opened"
    assert req.det == ("bridge", "car")
    assert req.types == ("number", "relation")
    assert req.reason is None
    assert req.syntax == "valid"
    assert req.raw == raw
    assert req.to_dict() == json.loads(raw)


def test_all_null_is_a_valid_nothing_needed_answer():
    req = parse_decoupling('{"ASR": null, "DET": null, "TYPE": null}')
    assert (req.ok, req.asr, req.det, req.types, req.reason) == (True, None, None, None, None)


def test_empty_lists_read_as_null_without_note():
    req = parse_decoupling('{"ASR": null, "DET": [], "TYPE": []}')
    assert (req.ok, req.det, req.types, req.reason) == (True, None, None, None)


# ------------------------------------------------------------------------------------------
# malformed but usable outputs
# ------------------------------------------------------------------------------------------
def test_code_fence_with_language_tag():
    req = parse_decoupling('```json\n{"ASR": null, "DET": ["dog", "ball"], "TYPE": ["location"]}\n```')
    assert (req.ok, req.asr, req.det, req.types) == (True, None, ("dog", "ball"), ("location",))
    assert notes_of(req) == ["removed code fence"]


def test_code_fence_without_language_tag():
    req = parse_decoupling('```\n{"ASR": "recipe steps", "DET": null, "TYPE": null}\n```')
    assert (req.ok, req.asr, req.det, req.types) == (True, "recipe steps", None, None)
    assert notes_of(req) == ["removed code fence"]


def test_prose_before_and_after_the_object():
    raw = 'Sure! Here is the JSON you asked for:\n{"ASR": "team names", "DET": null, "TYPE": null}\nHope this helps.'
    req = parse_decoupling(raw)
    assert (req.ok, req.asr, req.det, req.types) == (True, "team names", None, None)
    assert notes_of(req) == ["ignored text around the JSON object"]
    assert req.raw == raw


def test_python_dict_style_with_apostrophe_and_none():
    req = parse_decoupling("{'ASR': 'the speaker's name', 'DET': ['dog', 'cat'], 'TYPE': None}")
    assert (req.ok, req.asr, req.det, req.types) == (True, "the speaker's name", ("dog", "cat"), None)
    assert (req.syntax, notes_of(req)) == ("repaired", ["repaired malformed JSON"])


def test_trailing_commas_everywhere():
    req = parse_decoupling('{"ASR": "score", "DET": ["ball", "goal",], "TYPE": ["number",],}')
    assert (req.ok, req.asr, req.det, req.types) == (True, "score", ("ball", "goal"), ("number",))
    assert (req.syntax, notes_of(req)) == ("repaired", ["repaired malformed JSON"])


def test_null_like_strings_and_python_none():
    req = parse_decoupling('{"ASR": None, "DET": "null", "TYPE": "none"}')
    assert (req.ok, req.asr, req.det, req.types) == (True, None, None, None)
    assert notes_of(req) == [
        "repaired malformed JSON",
        "DET was the string 'null', read as null",
        "TYPE was the string 'none', read as null",
    ]


def test_lowercase_and_odd_case_keys_empty_asr_string_det_and_type_strings():
    req = parse_decoupling('{"asr": "", "Det": "car, tree , person", "type": "Locations"}')
    assert (req.ok, req.asr, req.det, req.types) == (True, None, ("car", "tree", "person"), ("location",))
    assert notes_of(req) == [
        "renamed keys: asr->ASR, Det->DET, type->TYPE",
        "ASR was an empty string, read as null",
        "DET given as a string, split on commas",
        "TYPE given as a string, split",
        "normalised TYPE values: Locations->location",
    ]


def test_type_string_with_and():
    req = parse_decoupling('{"ASR": null, "DET": ["chair"], "TYPE": "number and relation"}')
    assert req.types == ("number", "relation")
    assert req.ok


def test_too_many_det_truncated_and_type_values_normalised_or_dropped():
    raw = '{"ASR": null, "DET": ["a", "b", "c", "d", "e", "f", "g"], "TYPE": ["numbers", "color", "Relation"]}'
    req = parse_decoupling(raw)
    assert req.ok
    assert req.det == ("a", "b", "c", "d", "e")
    assert len(req.det) == MAX_DET
    assert req.types == ("number", "relation")
    assert notes_of(req) == [
        "DET had 7 entities, kept the first 5",
        "normalised TYPE values: numbers->number, Relation->relation",
        "dropped unknown TYPE values: color",
    ]


def test_type_synonyms_and_duplicates():
    req = parse_decoupling('{"ASR": null, "DET": ["cup"], "TYPE": ["count", "Number", "position", "location"]}')
    assert req.types == ("number", "location")
    assert set(req.types) <= set(TYPE_VALUES)


def test_duplicate_and_blank_entities_removed_before_truncation():
    raw = '{"ASR": null, "DET": ["car", " ", "Car", "car.", "", "bus", "tram", "bike", "van", "truck"], "TYPE": null}'
    req = parse_decoupling(raw)
    assert req.det == ("car", "bus", "tram", "bike", "van")
    assert notes_of(req) == [
        "dropped 2 blank DET entries",
        "dropped duplicate DET entities: Car, car",
        "DET had 6 entities, kept the first 5",
    ]


def test_braces_inside_strings_do_not_end_the_object():
    req = parse_decoupling('{"ASR": "the {weird} text } here", "DET": ["sign"], "TYPE": null}')
    assert (req.ok, req.asr, req.det, req.types, req.reason) == (True, "the {weird} text } here", ("sign",), None, None)


def test_first_object_with_a_known_key_wins():
    raw = 'Thinking: {"note": 1} so the answer is {"ASR": "q", "DET": null, "TYPE": null} or {"ASR": "second"}'
    req = parse_decoupling(raw)
    assert (req.ok, req.asr, req.det, req.types) == (True, "q", None, None)
    assert notes_of(req) == [
        "ignored text around the JSON object",
        "skipped earlier braces that held no ASR/DET/TYPE object",
    ]


def test_object_nested_in_a_wrapper_object_is_found():
    req = parse_decoupling('{"request": {"ASR": "price", "DET": ["menu"], "TYPE": null}}')
    assert (req.ok, req.asr, req.det) == (True, "price", ("menu",))


def test_truncated_inside_asr_string_is_closed():
    req = parse_decoupling('{"ASR": "the name of the spea')
    assert (req.ok, req.asr, req.det, req.types) == (True, "the name of the spea", None, None)
    assert notes_of(req) == ["repaired malformed JSON", "closed a truncated JSON object", "missing DET, TYPE (taken as null)"]


def test_truncated_inside_det_list_drops_the_partial_entity():
    req = parse_decoupling('```json\n{"ASR": "x", "DET": ["car", "tr')
    assert (req.ok, req.asr, req.det, req.types) == (True, "x", ("car",), None)
    assert notes_of(req) == ["removed code fence", "repaired malformed JSON", "closed a truncated JSON object",
                             "dropped the cut-off last DET entity 'tr'", "missing TYPE (taken as null)"]


def test_truncated_inside_a_key_drops_the_key():
    req = parse_decoupling('{"ASR": "x", "DET": ["car", "tree"], "TY')
    assert (req.ok, req.asr, req.det, req.types) == (True, "x", ("car", "tree"), None)
    assert "closed a truncated JSON object" in notes_of(req)


def test_unclosed_object_followed_by_prose():
    req = parse_decoupling('{"ASR": "x", "DET": ["a"], "TYPE": ["location"]\nI hope this helps')
    assert (req.ok, req.asr, req.det, req.types) == (True, "x", ("a",), ("location",))
    assert "closed a truncated JSON object" in notes_of(req)


def test_wrong_types_are_treated_as_absent_with_notes():
    req = parse_decoupling('{"ASR": 5, "DET": {"a": 1}, "TYPE": ["number"]}')
    assert (req.ok, req.asr, req.det, req.types) == (True, None, None, ("number",))
    assert notes_of(req) == ["ASR had the wrong type (number), ignored", "DET had the wrong type (object), ignored"]


def test_non_string_det_items_dropped():
    req = parse_decoupling('{"ASR": null, "DET": ["dog", 3, {"x": 1}, null], "TYPE": null}')
    assert req.det == ("dog",)
    assert notes_of(req) == ["dropped 2 DET entries that were not strings", "dropped 1 blank DET entries"]


def test_unquoted_keys_and_python_tuple():
    req = parse_decoupling('{ASR: "x", DET: ("car", "dog"), TYPE: null}')
    assert (req.ok, req.asr, req.det, req.types) == (True, "x", ("car", "dog"), None)
    assert (req.syntax, notes_of(req)) == ("repaired", ["repaired malformed JSON"])


def test_unescaped_inner_quotes_survive():
    req = parse_decoupling('{"ASR": "he said "hello" twice", "DET": null, "TYPE": null}')
    assert (req.ok, req.asr) == (True, 'he said "hello" twice')
    assert (req.syntax, notes_of(req)) == ("repaired", ["repaired malformed JSON"])


def test_mismatched_bracket_fixed():
    req = parse_decoupling('{"ASR": null, "DET": ["car"], "TYPE": ["number"}')
    assert (req.ok, req.det, req.types) == (True, ("car",), ("number",))
    assert (req.syntax, notes_of(req)) == ("repaired", ["repaired malformed JSON"])


def test_object_inside_a_list():
    req = parse_decoupling('[{"ASR": "x", "DET": ["a"], "TYPE": ["location"]}]')
    assert (req.ok, req.asr, req.det, req.types) == (True, "x", ("a",), ("location",))


def test_missing_keys_taken_as_null():
    req = parse_decoupling('{"DET": ["goalkeeper"]}')
    assert (req.ok, req.asr, req.det, req.types) == (True, None, ("goalkeeper",), None)
    assert notes_of(req) == ["missing ASR, TYPE (taken as null)"]


def test_doubled_template_braces():
    req = parse_decoupling('{{"ASR": "lyrics", "DET": null, "TYPE": null}}')
    assert (req.ok, req.asr) == (True, "lyrics")


# ------------------------------------------------------------------------------------------
# unusable outputs
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "empty output"),
        ("  \n\t ", "empty output"),
        ("The answer is B.", "no JSON object in output"),
        ('{"answer": "B", "why": "it is blue"}', "JSON object has none of ASR/DET/TYPE (keys: answer, why)"),
        ("{}", "JSON object has none of ASR/DET/TYPE (keys: none)"),
    ],
)
def test_unusable_outputs_fall_back_with_precise_reason(raw, reason):
    req = parse_decoupling(raw)
    assert req.ok is False
    assert (req.asr, req.det, req.types) == (None, None, None)
    assert req.reason == reason
    assert req.raw == raw


def test_unparseable_braces_reason_names_the_json_error():
    req = parse_decoupling("{not json at all}")
    assert req.ok is False
    assert req.reason.startswith("no parseable JSON object in output (")
    assert "Expecting" in req.reason
    assert req.raw == "{not json at all}"


def test_none_and_non_text_outputs():
    req = parse_decoupling(None)
    assert (req.ok, req.reason, req.raw) == (False, "no output from the model", None)
    req = parse_decoupling(42)  # type: ignore[arg-type]
    assert (req.ok, req.reason, req.raw) == (False, "model output is a int, not text", "42")


def test_all_values_of_wrong_type_is_a_failure():
    req = parse_decoupling('{"ASR": 5, "DET": {"a": 1}}')
    assert req.ok is False
    assert (req.asr, req.det, req.types) == (None, None, None)
    assert req.reason == (
        "JSON object has ASR/DET/TYPE but no usable value: missing TYPE (taken as null); "
        "ASR had the wrong type (number), ignored; DET had the wrong type (object), ignored"
    )


# ------------------------------------------------------------------------------------------
# fallback
# ------------------------------------------------------------------------------------------
def test_fallback_request():
    req = fallback_request("inner model failed", raw="oops")
    assert req == DecoupledRequest(asr=None, det=None, types=None, ok=False, reason="inner model failed", raw="oops")
    assert fallback_request("disabled").raw is None
    assert fallback_request("disabled").to_dict() == {"ASR": None, "DET": None, "TYPE": None}


# ------------------------------------------------------------------------------------------
# prompt
# ------------------------------------------------------------------------------------------
def test_prompt_shows_question_and_every_lettered_option():
    q = make_question(("Red", "Blue", "Green", "Black", "White"))
    prompt = build_decoupling_prompt(q)
    assert q.question in prompt
    for letter, text in zip(q.letters, q.options):
        assert f"\n{letter}. {text}\n" in prompt
    # the real question comes after all examples
    assert prompt.index(q.question) > prompt.index("Example 3")


def test_prompt_explains_the_three_keys():
    prompt = build_decoupling_prompt(make_question())
    for key in ('"ASR"', '"DET"', '"TYPE"'):
        assert f"- {key}:" in prompt
    for value in TYPE_VALUES:
        assert f'"{value}"' in prompt
    assert f"at most {MAX_DET}" in prompt


def test_prompt_has_three_examples_of_the_required_kinds():
    prompt = build_decoupling_prompt(make_question())
    assert [int(n) for n in re.findall(r"^Example (\d+)$", prompt, flags=re.MULTILINE)] == [1, 2, 3]
    assert len(EXAMPLES) == 3
    counting, location, knowledge = (obj for _, _, obj in EXAMPLES)
    assert set(counting["TYPE"]) == {"number", "relation"}
    assert location["TYPE"] == ["location"]
    assert knowledge["ASR"] and knowledge["DET"] is None and knowledge["TYPE"] is None
    for q, options, _ in EXAMPLES:
        assert f"Question: {q}" in prompt
        for letter, text in zip("ABCD", options):
            assert f"\n{letter}. {text}\n" in prompt


def test_prompt_example_jsons_parse_cleanly():
    prompt = build_decoupling_prompt(make_question())
    outputs = re.findall(r"^Output: (.*)$", prompt, flags=re.MULTILINE)
    assert len(outputs) == 3
    for line, (_, _, expected) in zip(outputs, EXAMPLES):
        req = parse_decoupling(line)
        assert req.ok and req.reason is None
        assert req.to_dict() == expected
        assert req.det is None or len(req.det) <= MAX_DET


def test_prompt_ends_with_do_not_answer_instruction():
    prompt = build_decoupling_prompt(make_question())
    last = prompt.strip().splitlines()[-1]
    assert last.startswith("Do not answer the question")
    assert "only the JSON object" in last


# ------------------------------------------------------------------------------------------
# retrieval query texts
# ------------------------------------------------------------------------------------------
def test_query_texts_with_parsed_request():
    q = make_question()
    req = parse_decoupling('{"ASR": "umbrella color mentioned", "DET": ["man", "umbrella"], "TYPE": null}')
    base = [q.question, "Red", "Blue", "Green", "Black"]
    assert query_texts(q, req, "asr") == base + ["umbrella color mentioned"]
    assert query_texts(q, req, "ocr") == base + ["man", "umbrella"]  # each DET phrase embedded, as the method
    assert query_texts(q, req, "det") == base + ["man", "umbrella"]
    assert query_texts(q, req, "ASR") == base + ["umbrella color mentioned"]


def test_query_texts_without_the_requested_part():
    q = make_question()
    base = [q.question, "Red", "Blue", "Green", "Black"]
    only_det = parse_decoupling('{"ASR": null, "DET": ["umbrella"], "TYPE": null}')
    assert query_texts(q, only_det, "asr") == base
    only_asr = parse_decoupling('{"ASR": "weather", "DET": null, "TYPE": null}')
    assert query_texts(q, only_asr, "ocr") == base


def test_query_texts_fallback_and_absent_request_use_question_and_options():
    q = make_question()
    base = [q.question, "Red", "Blue", "Green", "Black"]
    failed = parse_decoupling("no json here")
    assert query_texts(q, failed, "asr") == base
    assert query_texts(q, fallback_request("disabled"), "ocr") == base
    assert query_texts(q, None, "det") == base
    # a failed request's fields are never used even if set
    odd = DecoupledRequest(asr="x", det=("y",), types=None, ok=False, reason="r")
    assert query_texts(q, odd, "asr") == base


def test_query_texts_skips_blank_options_and_rejects_unknown_source():
    q = make_question(("Red", " ", "Green"))
    assert query_texts(q, None, "asr") == [q.question, "Red", "Green"]
    with pytest.raises(ValueError, match="unknown retrieval source"):
        query_texts(q, None, "subtitles")


# ------------------------------------------------------------------------------------------
# more edge cases
# ------------------------------------------------------------------------------------------
def test_asr_given_as_list_is_joined_and_null_type_items_skipped():
    req = parse_decoupling('{"ASR": ["speaker name", "null", "team"], "DET": null, "TYPE": [null, "location", 7]}')
    assert (req.ok, req.asr, req.det, req.types) == (True, "speaker name; team", None, ("location",))
    assert notes_of(req) == ["ASR given as a list, joined", "dropped 1 TYPE entries that were not strings"]


def test_truncated_python_style_object():
    req = parse_decoupling("{'ASR': 'x', 'DET': ['a', 'b'")
    assert (req.ok, req.asr, req.det, req.types) == (True, "x", ("a", "b"), None)
    assert notes_of(req) == [
        "repaired malformed JSON",
        "closed a truncated JSON object",
        "missing TYPE (taken as null)",
    ]


def test_garbage_in_braces_is_not_repaired_into_an_empty_object():
    req = parse_decoupling("x { y " * 20)
    assert req.ok is False
    assert req.reason.startswith("no parseable JSON object in output")


def test_pathological_outputs_give_a_result_not_an_exception():
    for raw in ("x { y " * 2000, "{[" * 3000, '{"a": 1, ' * 500):
        assert parse_decoupling(raw).ok is False
    req = parse_decoupling('{"DET": [' + '"a", ' * 2000)
    assert (req.ok, req.det) == (True, ("a",))
