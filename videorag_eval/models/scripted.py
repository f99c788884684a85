"""``scripted``: a STAND-IN for an LVLM (no weights, no vision), for testing the real path end to end.

It exists because no LVLM can run here, yet the decoupling step must be seen to succeed through the
real wrapper and lmms-eval evaluator. It plays an LVLM's two roles:

- asked the decoupling prompt, it replies with the text its script gives for that question
  (verbatim: a script may hold malformed JSON on purpose);
- asked the question, it answers like ``text_only`` (the option the auxiliary text mentions).

The script is a JSON file ``{"<question_id>": reply, ..., "*": default reply}``; a reply is a string
(sent as is) or an object (sent as JSON). With no entry and no ``"*"`` the reply is all-null.
Every prompt it received is kept in ``prompts`` (for tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .text_only import TextOnlyMatcher

DECOUPLING_MARKER = "Reply with a single JSON object that has exactly these three keys"
ALL_NULL = '{"ASR": null, "DET": null, "TYPE": null}'


class ScriptedLVLM(TextOnlyMatcher):
    generates_text = True

    def __init__(self, script: str | dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(script, (str, Path)):
            path = Path(script)
            if not path.is_file():
                raise FileNotFoundError(f"scripted model: script file {path} does not exist; "
                                        "set model.model_args.script=<json file of question_id -> reply>")
            script = json.loads(path.read_text())
        self.script: dict[str, Any] = dict(script or {})
        self.prompts: list[tuple[str, str]] = []  # (question_id, prompt)

    def _question_id(self, req) -> str:
        doc_id, task, split = req.args[3], req.args[4], req.args[5]
        try:
            doc = self.task_dict[task][split][doc_id]
        except Exception:
            return str(doc_id)
        return str(doc.get("question_id", doc.get("id", doc_id)))

    answer_calls = 0

    def _die_if_asked(self, requests) -> None:
        """For the kill tests: ``VIDEORAG_SCRIPTED_KILL_AT_ANSWER_CALL=k`` makes the process die (SIGKILL)
        inside its k-th call that asks questions (not decoupling requests), as a killed job would."""
        import os
        import signal

        if not any(DECOUPLING_MARKER not in req.args[0] for req in requests):
            return
        ScriptedLVLM.answer_calls += 1
        if str(ScriptedLVLM.answer_calls) == os.environ.get("VIDEORAG_SCRIPTED_KILL_AT_ANSWER_CALL"):
            os.kill(os.getpid(), signal.SIGKILL)

    def reply(self, question_id: str) -> str:
        value = self.script.get(question_id, self.script.get("*", ALL_NULL))
        return value if isinstance(value, str) else json.dumps(value)

    def generate_until(self, requests) -> list[str]:
        self._die_if_asked(requests)
        out = []
        for req in requests:
            prompt = req.args[0]
            qid = self._question_id(req)
            self.prompts.append((qid, prompt))
            out.append(self.reply(qid) if DECOUPLING_MARKER in prompt else self.choose(prompt)[0])
        return out
