"""Typed settings of a cell and the checks a user can fix, done before any work starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RagSettings:
    asr: bool = False
    ocr: bool = False
    det: bool = False
    subtitles: bool = False
    threshold: float = 0.3
    order: str = "paper"
    decouple: str = "auto"
    timestamps: bool = True  # times before each document in the prompt (the official code has none)
    retrieval: bool = True  # false: every ASR/OCR document in time order, no retrieval filter (the paper's ablation)

    @classmethod
    def from_cfg(cls, cfg: Any) -> "RagSettings":
        return cls(**{k: cfg[k] for k in cls.__dataclass_fields__ if k in cfg})

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(s for s in ("asr", "ocr", "det") if getattr(self, s))

    @property
    def active(self) -> bool:
        return bool(self.sources) or self.subtitles

    @property
    def unretrieved(self) -> bool:
        """``rag.retrieval=false`` with an ASR or OCR source on: those documents go in whole, unfiltered (DET
        is never retrieved, so ``retrieval`` means nothing without ASR/OCR: the same cell as ``true``)."""
        return not self.retrieval and (self.asr or self.ocr)

    @property
    def needs_request(self) -> bool:
        """Whether the decoupled request is asked for: DET needs its object list, ASR/OCR retrieval its query
        texts; without retrieval and without DET (``rag=transcript``) nothing reads it."""
        return self.det or (self.retrieval and (self.asr or self.ocr))

    def label(self) -> str:
        """Short name of the setting, e.g. ``none``, ``subtitles``, ``asr+ocr+det_t0.3``; ``asr_noretrieval``
        for ``rag=transcript`` (no threshold: nothing is filtered)."""
        if not self.active:
            return "none"
        parts = (["subtitles"] if self.subtitles else []) + list(self.sources)
        label = "+".join(parts)
        if self.unretrieved:
            label += "_noretrieval"
        elif self.sources:
            label += f"_t{self.threshold:g}"
        return label


@dataclass(frozen=True)
class Setting:
    """One user-facing key: its type and, for enumerations, the values allowed."""

    key: str
    kind: type
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    optional: bool = False  # null allowed
    if_present: bool = False  # keys added by optional config groups (e.g. ``method``)

    def allowed(self) -> str:
        if self.choices is not None:
            text = ", ".join(str(c) for c in self.choices)
        elif self.kind is bool:
            text = "true, false"
        elif self.kind is int:
            text = "an integer" + (f" >= {self.low:g}" if self.low is not None else "")
        elif self.kind is float:
            text = f"a number in [{self.low:g}, {self.high:g}]" if self.low is not None else "a number"
        else:
            text = self.kind.__name__
        return text + (" or null" if self.optional else "")


# The typed schema of the settings a user types on the command line (CONTRACT "Config keys").
SCHEMA: tuple[Setting, ...] = (
    Setting("frames", int, low=1),
    Setting("batch_size", int, low=1, if_present=True),
    Setting("limit", int, low=1, optional=True),
    Setting("seed", int),
    Setting("force", bool),
    Setting("parser", str, choices=("lmms_eval", "paper")),
    Setting("method", str, choices=("default", "official", "paper"), if_present=True),
    Setting("rag.asr", bool),
    Setting("rag.ocr", bool),
    Setting("rag.det", bool),
    Setting("rag.subtitles", bool),
    Setting("rag.threshold", float, low=-1.0, high=1.0),
    Setting("rag.retrieval", bool),
    Setting("rag.order", str, choices=("paper", "code")),
    Setting("rag.decouple", str, choices=("auto", "fallback")),
    Setting("model.decouple_route", str, choices=("text_only", "with_video", "fallback"), if_present=True),
)

_MISSING = object()


def _lookup(cfg: Any, key: str) -> Any:
    node = cfg
    for part in key.split("."):
        try:
            if part not in node:
                return _MISSING
            node = node[part]
        except TypeError:
            return _MISSING
    return node


def _valid(setting: Setting, value: Any) -> bool:
    if value is None:
        return setting.optional
    if setting.kind is bool:
        ok = isinstance(value, bool)
    elif setting.kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif setting.kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, setting.kind)
    if ok and setting.choices is not None:
        ok = value in setting.choices
    if ok and setting.low is not None:
        ok = value >= setting.low
    if ok and setting.high is not None:
        ok = value <= setting.high
    return ok


def check_types(cfg: Any) -> None:
    """Every key of ``SCHEMA`` has a value of its type and range; the first that does not is named
    in one line with the value given and the values allowed."""
    for setting in SCHEMA:
        value = _lookup(cfg, setting.key)
        if setting.if_present and hasattr(value, "keys"):  # a config group (conf/method/): its name is the value
            value = value.get("name", _MISSING)
        if value is _MISSING:
            if setting.if_present:
                continue
            raise ConfigError(f"{setting.key} is missing from the config; allowed: {setting.allowed()}")
        if not _valid(setting, value):
            shown = "null" if value is None else repr(value)
            raise ConfigError(f"{setting.key}={shown} is not allowed; allowed: {setting.allowed()}")


def check_config(cfg: Any) -> None:
    """Errors a user can fix, raised before any work starts (and before any cell directory exists)."""
    check_types(cfg)
    if "rag" in cfg and "token_budget" in cfg.rag:
        from .budget import parse_setting

        try:
            parse_setting(cfg.rag.token_budget)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    fixed = cfg.model.get("frames_fixed")
    if fixed is not None and int(cfg.frames) != int(fixed):
        raise ConfigError(f"frames={cfg.frames} is not allowed for model={cfg.model.name}; allowed: {fixed} "
                          f"(this model always reads {fixed} frames)")
    most = cfg.model.get("max_batch_size")
    if most is not None and int(cfg.get("batch_size", 1)) > int(most):
        raise ConfigError(f"batch_size={cfg.batch_size} is not allowed for model={cfg.model.name}; allowed: 1 to {most} "
                          f"(lmms-eval's {cfg.model.adapter} adapter cannot batch more)")
    from .adapter_specs import route_error

    if (why := route_error(str(cfg.model.adapter), str(cfg.model.get("decouple_route", "text_only")))) is not None:
        raise ConfigError(f"model.decouple_route=text_only is refused for model={cfg.model.name}: {why}")
    if RagSettings.from_cfg(cfg.rag).subtitles and str(cfg.task.name) == "mlvu":
        raise ConfigError("rag=subtitles: MLVU ships no subtitles; use rag=asr (speech transcribed by Whisper) instead")


class ConfigError(ValueError):
    """A setting the user can fix; the command exits with code 2 before any work."""


def refuse_unknown_choices(argv: list[str], conf_dir: Path) -> None:
    """A config group choice with no YAML (``model=foo``, ``method=papers``) is refused with one line
    naming the group, the value and the choices, and exit code 2, before Hydra composes anything.
    Comma lists (sweeps) are checked item by item; Hydra's sweep functions are left to Hydra."""
    import re
    import sys

    groups = {d.name for d in Path(conf_dir).iterdir() if d.is_dir() and d.name != "hydra"}
    for arg in argv:
        match = re.fullmatch(r"\+{0,2}([\w/]+)=(.*)", arg)
        if not match or match.group(1) not in groups or "(" in match.group(2):
            continue
        group = match.group(1)
        known = sorted(p.stem for p in (Path(conf_dir) / group).glob("*.yaml"))
        for value in (v.strip() for v in match.group(2).split(",")):
            if value not in known:
                print(f"videorag_eval: error: invalid setting {group}={value!r} (allowed: {', '.join(known)})",
                      file=sys.stderr)
                sys.exit(2)
