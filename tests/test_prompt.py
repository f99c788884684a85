from videorag_eval.method.prompt import assemble, count_tokens, parse_options, render_block, split_augmented
from videorag_eval.core.records import AuxDoc

CONTEXT = ("Select the best answer to the following multiple-choice question based on the video.\n"
           "Where does the tour start?\nA. Lisbon\nB. Oslo\nC. Dublin\nD. Prague\nThe best answer is:")


def blocks():
    return {
        "asr": render_block("asr", [AuxDoc("asr", "The tour starts in Lisbon.", 0, 30)]),
        "ocr": render_block("ocr", [AuxDoc("ocr", "LUNCH MENU PANCAKES", 12.5, 12.5, frame_index=50)]),
        "det": render_block("det", [], det_block="Frame 2: red circle: 3"),
    }


def test_paper_order_is_ocr_asr_det_then_question():
    text = assemble(CONTEXT, blocks(), "paper")
    assert text.index("LUNCH MENU") < text.index("Lisbon.") < text.index("red circle") < text.index("Select the best")
    assert text.endswith(CONTEXT)


def test_code_order_is_det_asr_ocr():
    text = assemble(CONTEXT, blocks(), "code")
    assert text.index("red circle") < text.index("Lisbon.") < text.index("LUNCH MENU")


def test_no_blocks_leaves_the_context_untouched():
    assert assemble(CONTEXT, {}, "paper") == CONTEXT


def test_split_recovers_blocks_and_original_context():
    found, rest = split_augmented(assemble(CONTEXT, blocks(), "paper"))
    assert rest == CONTEXT
    assert set(found) == {"asr", "ocr", "det"}
    assert "[0s-30s] The tour starts in Lisbon." in found["asr"]
    assert "[12.5s] LUNCH MENU PANCAKES" in found["ocr"]


def test_parse_options_handles_benchmark_styles():
    assert parse_options(CONTEXT) == [("A", "Lisbon"), ("B", "Oslo"), ("C", "Dublin"), ("D", "Prague")]
    assert parse_options("Q?\n(A) red\n(B) blue") == [("A", "red"), ("B", "blue")]


def test_token_count_uses_model_tokenizer_when_given():
    assert count_tokens("") == (0, "none")
    n, how = count_tokens("red circle: 3")
    assert (n, how) == (4, "regex_wordpiece")
    assert count_tokens("abc def", tokenizer=lambda t: list(t)) == (7, "model_tokenizer")
