"""The decoupling prompt: the question with lettered options, the three keys, three worked examples.

The model must reply with one JSON object::

    {"ASR": str | null, "DET": [entity, ...] | null, "TYPE": ["location" | "number" | "relation", ...] | null}

``ASR`` says what to look for in the speech transcript, ``DET`` lists at most five physical entities
to find in the frames (the same phrases drive OCR retrieval: there is no separate OCR request), and
``TYPE`` says which facts about the detected objects are wanted.
"""

from __future__ import annotations

import json
from typing import Any

from ...core.records import Question

MAX_DET = 5

# Worked examples shown in the prompt: (question, options, expected JSON object).
EXAMPLES: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    (
        "How many people are standing to the left of the red car when the race begins?",
        ("One", "Two", "Three", "Five"),
        {"ASR": None, "DET": ["person", "red car"], "TYPE": ["number", "relation"]},
    ),
    (
        "Where is the laptop placed when the woman starts typing?",
        ("On the sofa", "On the desk next to the lamp", "On the floor", "On the bookshelf"),
        {"ASR": None, "DET": ["laptop", "woman", "desk", "lamp", "sofa"], "TYPE": ["location"]},
    ),
    (
        "According to the narrator, in which year was the suspension bridge opened to traffic?",
        ("1883", "1907", "1937", "1964"),
        {"ASR": "the year the suspension bridge opened to traffic", "DET": None, "TYPE": None},
    ),
)


def _lettered(options: tuple[str, ...] | list[str], letters: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ") -> list[str]:
    return [f"{letter}. {text}" for letter, text in zip(letters, options)]


def _example_json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def build_decoupling_prompt(question: Question) -> str:
    """The text-only prompt that asks the model for the ASR/DET/TYPE request of ``question``."""
    parts: list[str] = [
        (
            "You will later answer a multiple-choice question about a long video, but you cannot see "
            "the video yet. First decide which extra information should be looked up to answer it. "
            "Three kinds of information can be extracted from the video: the speech transcript, the "
            "text written on screen, and the objects an object detector finds in the frames."
        ),
        "",
        "Reply with a single JSON object that has exactly these three keys:",
        (
            '- "ASR": a short description of what to search for in the speech transcript (what '
            "someone in the video might say that helps), or null when the speech is not useful."
        ),
        (
            f'- "DET": a list of at most {MAX_DET} concrete physical things that can be seen in the '
            "video (people, animals, objects, vehicles; no abstract ideas, actions or events), written "
            "as short noun phrases, or null when detecting objects would not help. These phrases are "
            "also used to search the on-screen text."
        ),
        (
            '- "TYPE": null, or a list chosen from "location", "number" and "relation", saying which '
            'facts about the detected objects are needed: "location" for where an object is in the '
            'frame, "number" for how many there are, "relation" for how objects are placed relative '
            'to each other. Use null when "DET" is null.'
        ),
        "Use JSON syntax: double quotes around strings and null (not None) for an empty key.",
        "",
    ]
    for i, (q, options, obj) in enumerate(EXAMPLES, start=1):
        parts.append(f"Example {i}")
        parts.append(f"Question: {q}")
        parts.append("Options:")
        parts.extend(_lettered(options))
        parts.append(f"Output: {_example_json(obj)}")
        parts.append("")
    parts.append("Now the real question.")
    parts.append(f"Question: {question.question}")
    parts.append("Options:")
    parts.extend(_lettered(question.options))
    parts.append("")
    parts.append(
        "Do not answer the question and do not explain anything. Output only the JSON object with the "
        'keys "ASR", "DET" and "TYPE".'
    )
    return "\n".join(parts)
