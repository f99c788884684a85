"""``videorag``: an lmms-eval model that wraps any other lmms-eval model with Video-RAG.

Per request it reads the doc, asks the inner model to decouple the question (text only, when the
inner model can generate text), extracts and retrieves auxiliary text, and re-issues the request
to the inner model with the augmented context and the original visuals. With no source enabled the
inner model receives exactly the original request.

This is the only module that knows lmms-eval's request tuples; everything inside is typed records.
Questions go in batches of ``batch_size``: the decoupling requests of a batch that the reply cache
does not hold go to the inner model in one call, then each question is augmented, then the batch's
answer requests go in one call (the adapter batches them with its own ``batch_size``). Every question
ends as one journal record (answered, answered with ``warnings``, or a data failure), written when its
batch is answered, so a killed run loses at most one batch and resumes where it stopped. Any other error is
systemic (``failures.py``): it is not journalled and stops the cell, so a resume asks that question again.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections import Counter
from typing import Any, Callable

from lmms_eval.api.instance import Instance
from lmms_eval.api.model import lmms

from ..benchmarks.row_checks import BadRow
from ..benchmarks.safe_paths import UnsafePath
from ..benchmarks.schemas import Schema
from ..benchmarks.subtitles import SubtitleError
from ..core.failures import FailureWatch, decoupling_watch, is_systemic
from ..core.records import DecoupledRequest, Question
from ..method.decoupling.parse import fallback_request, parse_decoupling
from ..method.decoupling.prompt import build_decoupling_prompt
from ..method.pipeline import AuxPipeline, VideoProblem
from ..method.prompt import assemble, count_tokens
from ..store.journal import Journal
from .decoupling_cache import DecouplingCache

log = logging.getLogger(__name__)

# lmms-eval's llava_vid (and oryx) adapters answer this text, instead of raising, when their own decoder fails
# on a video ("Video <path> can not load, check the source"): a data failure of that question, never an answer
CANNOT_LOAD = re.compile(r"^Video .+ can not load, check the source$", re.DOTALL)

DECOUPLE_GEN_KWARGS = {"max_new_tokens": 256, "temperature": 0, "do_sample": False, "num_beams": 1, "until": []}


class VideoRAG(lmms):
    """lmms-eval model ``videorag``.

    From Python: ``VideoRAG(inner=..., pipeline=..., schema=..., journal=...)``.
    From the lmms-eval CLI: ``--model videorag --model_args config=<cell>/config.yaml`` builds
    ``lmms_entry.ConfiguredVideoRAG``, which rebuilds these parts from a cell's resolved config.
    """

    def __init__(self, *, inner: lmms | None = None, pipeline: AuxPipeline | None = None,
                 schema: Schema | None = None, journal: Journal | None = None, decouple_route: str = "text_only",
                 subtitles: Callable[[Question, dict], list] | None = None, progress: bool = True,
                 decouple_cache: DecouplingCache | None = None, data_parallel: Any = None, batch_size: int = 1,
                 **_: Any) -> None:
        super().__init__()
        if inner is None or pipeline is None or schema is None:
            raise ValueError("videorag needs an inner model, a pipeline and a schema (or, from lmms-eval's CLI, "
                             "config=<path to config.yaml>)")
        self.inner = inner
        self.pipeline = pipeline
        self.schema = schema
        self.journal = journal
        if decouple_route not in ("text_only", "with_video", "fallback"):
            raise ValueError(f"model.decouple_route must be text_only, with_video or fallback, got {decouple_route!r}")
        self.decouple_route = decouple_route
        self.subtitles = subtitles
        self.progress = progress
        self.decouple_cache = decouple_cache or DecouplingCache(None)  # replies reused across cells
        self.data_parallel = data_parallel  # (parallel.Ranks, parallel.Barrier) under torchrun, else None
        self.is_simple = inner.is_simple
        self.counts: Counter[str] = Counter()
        self.batch_size = max(1, int(batch_size))
        self.calls: dict[str, list[int]] = {"decouple": [], "answer": []}  # requests per inner-model call
        self._prefetched: dict[tuple[str, str], str] = {}  # the batch's decoupling replies, by (prompt, video)
        self.timings: Counter[str] = Counter()
        self._tokenize = _tokenizer_of(inner)
        self.watch = FailureWatch()
        self.decouple_watch = decoupling_watch(decouple_route)
        from .video_links import spec_of_model

        spec = spec_of_model(inner)
        self._video_suffixes = spec.video_suffixes if spec is not None else None
        self._links: dict[str, str] = {}
        # an lmms-eval adapter decodes the video of every request it is given itself (its own reader, its own
        # frames): counted, not shared; the harness's stand-ins (text_only, scripted: sampler none) read no video
        self.adapter_decodes = spec is None or spec.sampler != "none"
        self.adapter_reads: Counter[str] = Counter()

    # lmms-eval sets ``lm.task_dict``; the inner model reads docs from the same dict.
    @property
    def task_dict(self):
        return self.inner.task_dict

    @task_dict.setter
    def task_dict(self, value):
        if hasattr(self, "inner"):
            self.inner.task_dict = value

    @property
    def rank(self):
        return self.inner.rank

    @property
    def world_size(self):
        return self.inner.world_size

    @property
    def device(self):
        return getattr(self.inner, "device", "cpu")

    # -- lmms-eval interface ----------------------------------------------------------------------
    def generate_until(self, requests: list[Instance]) -> list[str]:
        if self.journal is not None:  # a resume keeps only lines that match the dataset row at their doc_id
            self.journal.expect({doc_id: self.schema.fingerprint(self.task_dict[task][split][doc_id], doc_id)
                                 for doc_id, task, split in map(_doc_coords, requests)})
        if self.data_parallel is not None:
            return self._generate_data_parallel(requests)
        return self._answer_all(requests)

    def _answer_all(self, requests: list[Instance], desc: str = "videorag questions") -> list[str]:
        from tqdm import tqdm

        outputs: list[str] = []
        bar = tqdm(total=len(requests), desc=desc, unit="q", disable=not self.progress or self.rank != 0)
        for start in range(0, len(requests), self.batch_size):
            batch = requests[start:start + self.batch_size]
            outputs.extend(self._answer_batch(batch))
            bar.update(len(batch))
            bar.set_postfix(failed=self.counts["failed"], resumed=self.counts["resumed"])
        bar.close()
        return outputs

    def batching(self) -> dict[str, Any]:
        """For metrics.json: the batch size and, per phase, the inner-model calls and their sizes."""
        return {"batch_size": self.batch_size,
                "inner_calls": {phase: len(sizes) for phase, sizes in self.calls.items()},
                "batch_sizes": {phase: {str(k): v for k, v in sorted(Counter(sizes).items())}
                                for phase, sizes in self.calls.items()}}

    def checkpoint_pooling(self) -> dict | None:
        """The pooling settings the loaded inner LLaVA-NeXT model runs with (``adapters.checkpoint_pooling``), or None."""
        from .adapters import checkpoint_pooling

        return checkpoint_pooling(self.inner)

    def adapter_decoding(self) -> dict[str, Any]:
        """For metrics.json (``decoding.adapter``): requests with the video handed to the inner adapter, per phase."""
        return {"decodes_itself": self.adapter_decodes,
                "video_reads": {phase: int(self.adapter_reads.get(phase, 0)) for phase in ("decouple", "answer")}}

    def _call_inner(self, phase: str, requests: list[Instance]) -> list[str]:
        self.calls[phase].append(len(requests))
        if self.adapter_decodes and (phase == "answer" or self.decouple_route == "with_video"):
            self.adapter_reads[phase] += len(requests)
        return [_text(out) for out in self.inner.generate_until(requests)]

    def _generate_data_parallel(self, requests: list[Instance]) -> list[str]:
        """This rank answers the questions of its videos (parallel.assign_by_video); after a barrier,
        rank 0 returns every rank's journaled predictions (other ranks' outputs are discarded)."""
        from ..runtime.parallel import assign_by_video

        ranks, barrier = self.data_parallel
        keys = []
        for req in requests:
            doc_id, task, split = _doc_coords(req)
            try:
                keys.append((doc_id, self._video_of(req, self.task_dict[task][split][doc_id])))
            except Exception:  # no usable video: the question fails on whichever rank owns it
                keys.append((doc_id, ("doc", doc_id)))
        owner = assign_by_video(keys, ranks.world_size)
        mine = [i for i, (doc_id, _) in enumerate(keys) if owner[doc_id] == ranks.rank]
        log.info("rank %d/%d: %d of %d question(s), %d video(s)", ranks.rank, ranks.world_size, len(mine), len(requests),
                 len({keys[i][1] for i in mine}))
        outputs: list[str | None] = [None] * len(requests)
        answers = self._answer_all([requests[i] for i in mine], desc=f"videorag questions (rank {ranks.rank})")
        for i, answer in zip(mine, answers):
            outputs[i] = answer
        barrier.wait()  # every rank has journaled its share
        if ranks.rank != 0:
            return [o if o is not None else "" for o in outputs]
        self.journal.reload()
        for i, (doc_id, _) in enumerate(keys):
            if outputs[i] is None:
                record = self.journal.get(doc_id)
                if record is None:
                    raise RuntimeError(f"data parallel: rank {owner[doc_id]} journaled no answer for doc {doc_id} in "
                                       f"{self.journal.path.parent}; rerun the cell (answered questions are kept)")
                outputs[i] = record["prediction"]
        return outputs

    def loglikelihood(self, requests):
        return self.inner.loglikelihood(requests)

    def generate_until_multi_round(self, requests):
        return self.inner.generate_until_multi_round(requests)

    # -- one batch of questions --------------------------------------------------------------------
    def _answer_batch(self, requests: list[Instance]) -> list[str]:
        """Decoupling (one inner call for the batch's uncached requests), then each question's auxiliary
        text and answer request, then one inner call for the batch's answers; records journalled after."""
        outputs: list[str | None] = [None] * len(requests)
        todo = []
        for i, req in enumerate(requests):
            doc_id, _, _ = _doc_coords(req)
            if self.journal is not None and (done := self.journal.answered(doc_id)) is not None:
                self.counts["resumed"] += 1
                outputs[i] = done["prediction"]
            else:
                todo.append(i)
        self._link_batch([requests[i] for i in todo])
        self._prefetch_decoupling([requests[i] for i in todo])
        asked = []  # (index, record, start time, answer request)
        try:
            for i in todo:
                t_start = time.perf_counter()
                prepared = self._prepare(requests[i])
                if isinstance(prepared, dict):  # a data failure: recorded now, the batch goes on
                    outputs[i] = self._finish(prepared, prepared["prediction"], t_start)
                else:
                    asked.append((i, prepared[0], t_start, prepared[1]))
        finally:
            self._prefetched.clear()
        if not asked:
            return [o if o is not None else "" for o in outputs]
        t0 = time.perf_counter()
        try:
            answers = self._call_inner("answer", [new_req for *_, new_req in asked])
        except Exception:  # systemic: nothing of this batch is journalled, a resume asks it again
            log.error("questions %s: the inner model failed to answer, the cell stops (answered questions are kept)",
                      [r["doc_id"] for _, r, _, _ in asked])
            raise
        self.timings["generate"] += time.perf_counter() - t0
        if len(answers) != len(asked):
            raise RuntimeError(f"the inner model returned {len(answers)} answers for {len(asked)} requests")
        for (i, record, t_start, _), answer in zip(asked, answers):
            if CANNOT_LOAD.match(answer.strip()):  # llava_vid's decoder failed: a data failure, never scored
                answer = self._fail(record, "unreadable_video", "unreadable_video: the inner model could not load the "
                                    f"video and answered {answer.strip()!r} (its own decoder failed; not scored as an answer)")
            outputs[i] = self._finish(record, answer, t_start)
        return [o if o is not None else "" for o in outputs]

    def _finish(self, record: dict[str, Any], prediction: str, t_start: float) -> str:
        record["prediction"] = prediction
        record["seconds"] = round(time.perf_counter() - t_start, 3)
        if self.journal is not None:
            self.journal.append(record)
        self.watch.observe(record)
        return prediction

    def _prepare(self, req: Instance) -> tuple[dict[str, Any], Instance] | dict[str, Any]:
        """(record so far, the answer request to send), or the finished record of a data failure."""
        doc_id, task, split = _doc_coords(req)
        record: dict[str, Any] = {"doc_id": doc_id, "task": task, "error": None, "error_kind": None, "warnings": []}
        try:
            doc = self.task_dict[task][split][doc_id]
            record["fingerprint"] = self.schema.fingerprint(doc, doc_id)  # what a resume checks this record against
            video = self._video_of(req, doc)
            question = self.schema.to_question(doc, doc_id, video)
            record.update(question_id=question.question_id, video=video, answer=question.answer, letters="".join(question.letters),
                          categories=question.categories, question=question.question, options=list(question.options))
            return record, self._answer_question(req, doc, question, record)
        except (VideoProblem, UnsafePath) as exc:  # data failures: this question only, the run goes on
            record["prediction"] = self._fail(record, exc.kind, str(exc))
        except BadRow as exc:  # a malformed dataset row (column named): this question only
            record["question_id"] = exc.question_id
            record["prediction"] = self._fail(record, exc.kind, str(exc))
        except SubtitleError as exc:  # a malformed or missing subtitle file: a data failure of its video's questions
            record["prediction"] = self._fail(record, exc.kind, str(exc))
        except Exception:  # systemic (a bug, a missing package, out of memory): the cell stops, nothing journalled
            log.error("question %s: systemic failure, the cell stops (its answered questions are kept)", doc_id)
            raise
        return record

    def _link_batch(self, requests: list[Instance]) -> None:
        """Every video of the batch that the adapter would not read as video gets its link before any request of
        the batch is built: the adapter reads every request's visuals through the first request's
        ``doc_to_visual``, so a link made later would not reach it (the question answered without its video)."""
        if self._video_suffixes is None or not self.is_simple:
            return
        for req in requests:
            try:
                doc_id, task, split = _doc_coords(req)
                self._link_for_model(self._video_of(req, self.task_dict[task][split][doc_id]))
            except Exception as exc:  # this question fails in _prepare, where it is recorded
                if is_systemic(exc):
                    raise

    def _prefetch_decoupling(self, requests: list[Instance]) -> None:
        """The batch's decoupling requests that the reply cache does not hold, in one inner call. If that
        call raises (not systemically), nothing is prefetched: each question asks alone, as at batch size 1."""
        if self.batch_size == 1 or not self.pipeline.rag.needs_request or self.pipeline.rag.decouple == "fallback" \
                or self.decouple_route == "fallback":
            return
        keys, text_reqs = [], []
        for req in requests:
            try:
                doc_id, task, split = _doc_coords(req)
                doc = self.task_dict[task][split][doc_id]
                question = self.schema.to_question(doc, doc_id, self._video_of(req, doc))
                self.pipeline.check_video(question.video)
                self._link_for_model(question.video)
                prompt, text_req, video_hash = self._decoupling_request(req, question)
            except Exception as exc:  # this question fails (or is asked alone) in _prepare, where it is recorded
                if is_systemic(exc):
                    raise
                continue
            if (prompt, video_hash) in keys or self.decouple_cache.lookup(
                    prompt=prompt, gen_kwargs=DECOUPLE_GEN_KWARGS, route=self.decouple_route, video_hash=video_hash,
                    frames=self.pipeline.frames) is not None:
                continue
            keys.append((prompt, video_hash))
            text_reqs.append(text_req)
        if not text_reqs:
            return
        t0 = time.perf_counter()
        try:
            replies = self._call_inner("decouple", text_reqs)
        except Exception as exc:
            if is_systemic(exc):
                raise
            log.warning("the batch's %d decoupling requests raised together (%s: %s); asking each alone",
                        len(text_reqs), type(exc).__name__, exc)
            return
        finally:
            self.timings["decouple"] += time.perf_counter() - t0
        if len(replies) == len(keys):
            self._prefetched.update(zip(keys, replies))

    def _fail(self, record: dict[str, Any], kind: str, message: str) -> str:
        log.error("question %s (%s): %s", record.get("question_id", record["doc_id"]), kind, message)
        self.counts["failed"] += 1
        record["error"] = message
        record["error_kind"] = kind
        record.setdefault("question_id", None)  # failed before its doc was read: ids known, nothing else
        record.setdefault("video", None)
        record.setdefault("aux", {})
        record.setdefault("request", None)
        record.setdefault("aux_tokens", 0)
        return ""

    def _video_of(self, req: Instance, doc: dict) -> str:
        try:
            if self.is_simple:
                visuals = req.args[2](doc) if callable(req.args[2]) else []
            else:  # chat style: the video is a {"type": "video", "url": ...} item of the messages
                visuals = [item.get("url") or item.get("video") for m in req.args[1](doc)
                           for item in (m.get("content") if isinstance(m.get("content"), list) else [])
                           if isinstance(item, dict) and item.get("type") == "video"]
        except SystemExit as exc:  # lmms-eval's tasks sys.exit on a missing video
            raise VideoProblem("missing_video", f"missing_video: {exc}") from None
        videos = [v for v in (visuals or []) if isinstance(v, str)]
        if not videos:
            raise VideoProblem("missing_video", f"missing_video: the task gave no video path for doc {doc}")
        return videos[0]

    def _link_for_model(self, video: str) -> str | None:
        """A link the adapter reads as video, for a name it would not (e.g. .MP4/.mkv for qwen2(.5)_vl)."""
        if self._video_suffixes is not None and self.is_simple:
            from .video_links import needs_link, readable_link

            if needs_link(video, self._video_suffixes):
                if video not in self._links:
                    self._links[video] = readable_link(video, self._video_suffixes, self.pipeline.cache.root)
                return self._links[video]
        return None

    def _answer_question(self, req: Instance, doc: dict, question: Question, record: dict[str, Any]) -> Instance:
        """The question's answer request (its auxiliary text in the context; the same visuals)."""
        self.pipeline.check_video(question.video)  # a missing or broken video fails here, whatever the setting
        if (link := self._link_for_model(question.video)) is not None:
            record["video_for_model"] = link
        with self.pipeline.cache.batch():  # the question's cache writes (reply, query embeddings, detections): one flush
            return self._answer_prepared(req, doc, question, record)

    def _answer_prepared(self, req: Instance, doc: dict, question: Question, record: dict[str, Any]) -> Instance:
        rag = self.pipeline.rag
        if rag.needs_request:
            request = self._decouple(req, question)
        else:  # no source reads it: rag=none/subtitles, or ASR/OCR without retrieval and no DET (rag=transcript)
            request = fallback_request("no retrieval in this setting" if not rag.sources else
                                       "not asked: rag.retrieval=false and no DET, every document goes in")
        record["request"] = request.to_dict() if request.ok else None
        record["request_note"] = request.reason
        record["request_syntax"] = request.syntax  # the reply was "valid" JSON or "repaired"
        record["request_cached"] = request.cached  # the reply came from the decoupling cache (an earlier cell)
        if request.raised:  # answered without the method's queries; a resume asks it again
            record["request_error"] = request.reason
            record["warnings"].append({"kind": "decoupling_raised", "message": request.reason})
        context = req.args[0]
        subtitles = self.subtitles(question, doc, context) if (rag.subtitles and self.subtitles) else None
        aug = self.pipeline.augment(question, request, subtitles=subtitles)
        in_prompt = subtitles is not None and subtitles.context is not None  # the benchmark's own prompt (Video-MME)
        if self.pipeline.budget.limited and aug.blocks:  # drop the lowest-scoring documents until they fit
            self._fit_budget(aug, subtitles.context if in_prompt else context, record)
        record["aux"] = {s: [d.text for d in docs] for s, docs in aug.retrieved.items()}
        record["aux_docs"] = {s: [d.to_dict() for d in docs] for s, docs in aug.retrieved.items()}
        record["aux_candidates"] = aug.candidates
        record["queries"] = aug.queries
        record["frames"] = self.pipeline.lvlm_frames(question.video, aug.frames)  # the frames the LVLM sees
        if aug.det is not None:
            record["det"] = aug.det
        for kind, message in aug.problems:  # degraded, not failed: answered from the other sources
            log.warning("question %s: %s", question.question_id, message)
            record["warnings"].append({"kind": kind, "message": message})
        if aug.problems or request.raised:
            self.counts["degraded"] += 1
        aux_text = "\n".join(aug.blocks[s] for s in aug.blocks)
        if in_prompt:
            context = subtitles.context
            aux_text = "\n".join(filter(None, [subtitles.text, aux_text]))
        record["aux_tokens"], record["aux_tokens_method"] = count_tokens(aux_text, self._tokenize)
        new_context = assemble(context, aug.blocks, rag.order) if (aug.blocks or in_prompt) else None
        if in_prompt:
            record["prompt"] = new_context  # the text the inner model gets (lmms-eval's with-subtitles prompt)
        # chat style: the auxiliary text goes in as a text item before the question's, unless the whole prompt changed
        chat_aux = None if in_prompt else (assemble("", aug.blocks, rag.order).strip() or None)
        return self._answer_request(req, new_context, aux_text=chat_aux)

    def _fit_budget(self, aug, context: str, record: dict[str, Any]) -> None:
        """The auxiliary blocks within the cell's token budget (``budget.py``): the lowest-scoring documents
        dropped first, the survivors in their order; the record says what was dropped."""
        from ..method.budget import drop_rule, fit

        budget = self.pipeline.budget
        # what the budget cannot cut goes with the question: LongVideoBench's subtitles block is in the prompt too
        fixed = "\n".join(filter(None, [aug.blocks.get("subtitles"), context]))
        question_tokens, method = count_tokens(fixed, self._tokenize)
        limit = budget.for_question(question_tokens)
        budgeted = {s: list(docs) for s, docs in aug.retrieved.items() if s != "subtitles"}
        det_scores = {int(k): float(v) for k, v in ((aug.det or {}).get("keyframe_scores") or {}).items()}
        kept, blocks, dropped, before, after = fit(
            budgeted, lambda docs: self.pipeline.render_blocks(docs, aug.frames),
            lambda text: count_tokens(text, self._tokenize)[0], limit, det_scores)
        record["aux_budget"] = {"mode": budget.mode, "limit": limit, "question_tokens": question_tokens,
                                "tokens_before": before, "tokens_after": after, "method": method,
                                "drop_rule": drop_rule(budgeted)}
        record["aux_dropped"] = [{"source": d.source, "text": d.text, "score": d.score, "start": d.start,
                                  "frame_index": d.frame_index} for d in dropped]
        if dropped:
            aug.retrieved.update(kept)
            aug.blocks = {**({"subtitles": aug.blocks["subtitles"]} if "subtitles" in aug.blocks else {}), **blocks}
            self.counts["budget_questions"] += 1
            self.counts["budget_dropped"] += len(dropped)

    def _decouple(self, req: Instance, question: Question) -> DecoupledRequest:
        if self.pipeline.rag.decouple == "fallback":
            return fallback_request("decoupling disabled (rag.decouple=fallback): query = question + options")
        if self.decouple_route == "fallback":
            name = type(self.inner).__name__
            return fallback_request(f"{name} cannot write the request (decouple_route=fallback): query = question + options")
        t0 = time.perf_counter()
        prompt, text_req, video_hash = self._decoupling_request(req, question)
        raised: list[Exception] = []

        def generate() -> str:  # only the model's own call may fall back; cache or disk errors stay systemic
            if (prompt, video_hash) in self._prefetched:  # generated with the batch's other requests
                return self._prefetched.pop((prompt, video_hash))
            try:
                return self._call_inner("decouple", [text_req])[0]
            except Exception as exc:
                if is_systemic(exc):  # out of memory, a missing package: not a fallback, the cell stops
                    raise
                self.decouple_watch.failed(exc)  # 3 generated in a row: the cell stops
                raised.append(exc)
                raise

        try:
            raw, cached = self.decouple_cache.reply(
                generate, prompt=prompt, gen_kwargs=DECOUPLE_GEN_KWARGS, route=self.decouple_route,
                video_hash=video_hash, frames=self.pipeline.frames)
        except Exception as exc:
            if not raised or exc is not raised[-1]:
                raise
            self.counts["decouple_failed"] += 1
            self.counts["decouple_raised"] += 1
            return fallback_request(f"inner model raised on the decoupling request ({type(exc).__name__}: {exc})",
                                    raised=True)
        finally:
            self.timings["decouple"] += time.perf_counter() - t0
        self.counts["decouple_cached" if cached else "decouple_generated"] += 1
        if not cached:  # a cached reply says nothing about whether the model can still answer
            self.decouple_watch.worked()
        parsed = dataclasses.replace(parse_decoupling(raw), cached=cached)
        self.counts["decouple_ok" if parsed.ok else "decouple_failed"] += 1
        return parsed

    def _decoupling_request(self, req: Instance, question: Question) -> tuple[str, Instance, str]:
        """(prompt, the request sent to the inner model, the video's content hash)."""
        prompt = build_decoupling_prompt(question)
        if self.decouple_route == "with_video":  # a choice (never a shipped default): the prompt goes with the video
            text_req = self._linked(self._replace_text(req, prompt, DECOUPLE_GEN_KWARGS))
        else:
            text_req = self._text_only_request(req, prompt, DECOUPLE_GEN_KWARGS)
        return prompt, text_req, self.pipeline.open_video(question.video)[0]

    def _text_only_request(self, req: Instance, prompt: str, gen_kwargs: dict) -> Instance:
        doc_id, task, split = _doc_coords(req)
        if self.is_simple:
            args = (prompt, dict(gen_kwargs), _no_visuals, doc_id, task, split)
        else:
            args = (prompt, _text_messages(prompt), dict(gen_kwargs), doc_id, task, split)
        return Instance(request_type="generate_until", arguments=args, idx=0, metadata=dict(req.metadata))

    def _replace_text(self, req: Instance, new_context: str, gen_kwargs: dict | None = None,
                      aux_text: str | None = None) -> Instance:
        """The same request (same visuals) with another text; for chat-style requests the auxiliary
        text goes in as a text item before the question."""
        args = list(req.args)
        args[0] = new_context
        if self.is_simple:
            if gen_kwargs is not None:
                args[1] = dict(gen_kwargs)
        else:
            args[1] = _messages_with_text(args[1], new_context if aux_text is None else None, aux_text)
            if gen_kwargs is not None:
                args[2] = dict(gen_kwargs)
        return Instance(request_type=req.request_type, arguments=tuple(args), idx=req.idx, metadata=dict(req.metadata))

    def _linked(self, req: Instance) -> Instance:
        """The request with its videos replaced by links the adapter reads as video (``video_links``). The links
        are read when the adapter asks for the visuals (every link of the batch made by then, ``_link_batch``):
        an adapter reads the visuals of every request of its batch through the first request's function."""
        if self._video_suffixes is None or not self.is_simple or not callable(req.args[2]):
            return req
        links, original = self._links, req.args[2]

        def doc_to_visual(doc):
            visuals = original(doc)
            return [links.get(v, v) if isinstance(v, str) else v for v in visuals] if isinstance(visuals, list) else visuals

        args = list(req.args)
        args[2] = doc_to_visual
        return Instance(request_type=req.request_type, arguments=tuple(args), idx=req.idx, metadata=dict(req.metadata))

    def _answer_request(self, req: Instance, new_context: str | None, aux_text: str | None = None) -> Instance:
        """What the inner model is asked; with no auxiliary text, exactly the original request."""
        new_req = req if new_context is None else self._replace_text(req, new_context, aux_text=aux_text)
        return self._linked(new_req)


def _text(out: Any) -> str:
    return out if isinstance(out, str) else getattr(out, "text", str(out))


def _doc_coords(req: Instance) -> tuple[int, str, str]:
    a = req.args
    return int(a[3]), a[4], a[5]


def _no_visuals(doc) -> list:
    return []


def _text_messages(prompt: str):
    def to_messages(doc):
        return [{"role": "user", "content": [{"type": "text", "text": prompt}]}]

    return to_messages


def _messages_with_text(doc_to_messages, replace_text: str | None, aux_text: str | None):
    """Wrap a chat task's doc_to_messages: either replace the user's text items by one text
    (decoupling with the video), or insert the auxiliary text as a text item before the first one."""

    def to_messages(doc):
        messages = [dict(m) for m in doc_to_messages(doc)]
        for m in messages:
            if m.get("role") != "user":
                continue
            content = list(m["content"]) if isinstance(m["content"], list) else [{"type": "text", "text": m["content"]}]
            first_text = next((i for i, c in enumerate(content) if c.get("type") == "text"), len(content))
            if replace_text is not None:
                content = [c for c in content if c.get("type") != "text"] + [{"type": "text", "text": replace_text}]
            elif aux_text:
                content.insert(first_text, {"type": "text", "text": aux_text})
            m["content"] = content
            break
        return messages

    return to_messages


def _tokenizer_of(model) -> Callable[[str], list[int]] | None:
    tok = getattr(model, "tokenizer", None) or getattr(getattr(model, "processor", None), "tokenizer", None)
    if tok is None or not hasattr(tok, "encode"):
        return None
    return lambda text: tok.encode(text, add_special_tokens=False)
