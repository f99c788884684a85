"""LongVideoBench answers are parsed exactly as lmms-eval's own ``parse_multi_choice_response`` parses them
(it looks for ``[ABCDE]`` whatever the question's options); only its random letter for an unparseable
reply is seeded here."""

import random

import pytest

from videorag_eval.scoring.parsers import parse_longvideobench, score_records

REPLIES = [
    "A", "B.", "(C) the harbour", "The best answer is D", "The correct option is E", "Best option: (B)",
    "E", "The answer is E.",  # a letter outside a 4-option question's options: lmms-eval takes it
    "Definitely E, then A", "I would say the Dog", "Clearly not Bob; Alice", "answer: b",
    "I am not sure what happens in this video at all, it is quite unclear to me", "", "   ",
    "The answer\nC", "Option D is wrong; A is right", "**C**",
]


def _theirs(reply: str, letters: str) -> str | None:
    """lmms-eval's parse; None when it falls back to a random letter."""
    from lmms_eval.tasks.longvideobench.utils import parse_multi_choice_response

    choices = list(letters)
    picks = set()
    for seed in range(8):
        random.seed(seed)
        picks.add(parse_multi_choice_response(reply, choices, dict(zip(choices, choices))))
    return picks.pop() if len(picks) == 1 else None


@pytest.mark.parametrize("letters", ["ABCD", "ABCDE", "ABC"])
@pytest.mark.parametrize("reply", REPLIES)
def test_parse_equals_lmms_eval(reply, letters):
    theirs = _theirs(reply, letters)
    ours = parse_longvideobench(reply, letters, "q1", seed=0)
    if theirs is not None:
        assert ours == theirs
    else:  # lmms-eval: a random option letter; ours: one too, the same on every call
        assert ours in letters and ours == parse_longvideobench(reply, letters, "q1", seed=0)


def test_a_letter_outside_the_options_is_scored_as_lmms_eval_scores_it():
    rec = {"question_id": "q", "answer": "A", "letters": "ABCD", "prediction": "E", "categories": {}}
    (scored,) = score_records([rec], "lmms_eval", "longvideobench")
    assert scored["parsed"] == "E" and scored["correct"] is False  # not a random pick that may hit A
