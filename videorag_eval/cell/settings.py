"""Typed settings of a cell and the checks a user can fix, done before any work starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..method.rag_settings import RagSettings


def check_types(cfg: Any, app: str = "config") -> None:
    """Every key of the config has a value of its declared type, range and choices (``config_schema``: one
    declaration per key, for ``app`` = ``config`` or ``extract``), and no key is undeclared; the first that
    is not is named in one line with the value given and the values allowed. Nothing in ``cfg`` changes."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from .config_schema import SCHEMAS, refusal

    try:
        data = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    except OmegaConfBaseException as exc:
        raise ConfigError("the config cannot be resolved: " + " ".join(str(exc).split())) from None
    data.pop("hydra", None)
    found = refusal(data, SCHEMAS.get(app, SCHEMAS["config"]))
    if found is not None:
        raise ConfigError(found.line())


def check_config(cfg: Any, app: str = "config") -> None:
    """Errors a user can fix, raised before any work starts (and before any cell directory exists).
    ``app``: ``config`` (a cell: ``python -m videorag_eval``) or ``extract`` (``python -m videorag_eval.extract``)."""
    check_types(cfg, app)
    if app == "extract":  # no LVLM is loaded and nothing is budgeted: the frames and shard settings only
        shard, num_shards = int(cfg.get("shard", 0)), int(cfg.get("num_shards", 1))
        if not 0 <= shard < num_shards:
            raise ConfigError(f"shard={shard} is not allowed with num_shards={num_shards}; allowed: an integer in "
                              f"[0, {num_shards - 1}]")
        return
    check_budget(cfg)
    fixed = cfg.model.get("frames_fixed")
    if fixed is not None and int(cfg.frames) != int(fixed):
        raise ConfigError(f"frames={cfg.frames} is not allowed for model={cfg.model.name}; allowed: {fixed} "
                          f"(this model always reads {fixed} frames)")
    most = cfg.model.get("max_batch_size")
    if most is not None and int(cfg.get("batch_size", 1)) > int(most):
        raise ConfigError(f"batch_size={cfg.batch_size} is not allowed for model={cfg.model.name}; allowed: 1 to {most} "
                          f"(lmms-eval's {cfg.model.adapter} adapter cannot batch more)")
    from ..runtime.adapter_specs import route_error

    if (why := route_error(str(cfg.model.adapter), str(cfg.model.get("decouple_route", "text_only")))) is not None:
        raise ConfigError(f"model.decouple_route=text_only is refused for model={cfg.model.name}: {why}")
    if RagSettings.from_cfg(cfg.rag).subtitles and str(cfg.task.name) == "mlvu":
        raise ConfigError("rag=subtitles: MLVU ships no subtitles; use rag=asr (speech transcribed by Whisper) instead")


def check_budget(cfg: Any) -> None:
    """A token budget that leaves no room for auxiliary text (``rag.token_budget=0``, or ``auto`` with frames
    that fill the model's context) is refused where the cell asks for ASR/OCR/DET text; a cell without any
    (``rag=none``, ``rag=subtitles``: the benchmark's subtitles are never budgeted) has nothing to budget."""
    from ..method.budget import parse_setting, resolve

    rag = RagSettings.from_cfg(cfg.rag)
    if not rag.sources:
        return
    setting = parse_setting(cfg.rag.get("token_budget", "auto"))
    budget = resolve(cfg)
    if not budget.limited or budget.tokens > 0:
        return
    asked = f"rag={cfg.rag.get('preset', '?')} asks for {', '.join(rag.sources)} text"
    if setting != "auto":
        raise ConfigError(f"rag.token_budget={setting} leaves no room for auxiliary text, and {asked}; allowed: auto, "
                          "none, or an integer >= 1 (or rag=none: no auxiliary text)")
    d = budget.detail or {}
    frames = int(cfg.frames)
    most = _most_frames(cfg, frames)
    fewer = f"frames <= {most} with this model, " if most >= 1 else ""
    raise ConfigError(
        f"rag.token_budget=auto leaves no room for auxiliary text with model={cfg.model.name} at frames={frames} "
        f"({asked}): {frames} frames x {cfg.model.tokens_per_frame} visual tokens + {d.get('max_new_tokens')} new "
        f"tokens + {d.get('prompt_overhead')} of prompt template fill its {d.get('context_tokens')}-token context; "
        f"allowed: {fewer}an explicit rag.token_budget=<tokens>, or rag=none / rag=subtitles (no auxiliary text)")


def _most_frames(cfg: Any, frames: int) -> int:
    """The most frames below ``frames`` whose ``auto`` budget leaves room for auxiliary text (0: none does)."""
    from omegaconf import OmegaConf

    from ..method.budget import resolve

    data = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    low, high = 0, frames - 1
    while low < high:
        mid = (low + high + 1) // 2
        if (resolve({**data, "frames": mid}).tokens or 0) > 0:
            low = mid
        else:
            high = mid - 1
    return low


def check_launcher(launcher: Any) -> None:
    """``hydra/launcher=slurm``: every ``hydra.launcher.*`` key of its declared type and range
    (``config_schema.SlurmLauncher``), checked before anything is submitted."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from .config_schema import SlurmLauncher, refusal

    try:
        data = OmegaConf.to_container(launcher, resolve=True)
    except OmegaConfBaseException:  # e.g. ${hydra.sweep.dir} outside a run: the values as written
        data = OmegaConf.to_container(launcher, resolve=False)
    found = refusal(data, SlurmLauncher, prefix="hydra.launcher")
    if found is not None:
        raise ConfigError(found.line())


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
