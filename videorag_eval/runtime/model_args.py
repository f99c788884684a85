"""The inner adapter's constructor arguments of a cell: ``model.model_args`` with the method profile's
per-model arguments merged over them.

A model config may hold ``method_args: {<method>: {<arg>: <value>}}``: arguments its adapter gets only
under that ``method`` profile (``method=official`` loads LLaVA-Video as the official Video-RAG code does:
bfloat16, with LLaVA-Video's time instruction). Every reader of the adapter's arguments goes through
``adapter_args`` -- building the adapter, the pre-flight, the decoupling reply cache, the frame rule and
the cell's identity -- so an ``official`` cell and a ``default`` cell of such a model never share a
directory or a cached reply. ``apply_method_args`` writes the merged arguments into the config itself, so
``config.yaml`` shows what the adapter was built with. To change one of them under the profile, override
it where it lives: ``model.method_args.official.torch_dtype=float16``.
"""

from __future__ import annotations

from typing import Any


def _get(node: Any, key: str, default: Any = None) -> Any:
    if node is None:
        return default
    try:
        value = node.get(key, default)
    except AttributeError:
        return default
    return default if value is None else value


def _plain(node: Any) -> dict[str, Any]:
    if node is None:
        return {}
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(node):
            return OmegaConf.to_container(node, resolve=True) or {}
    except ImportError:  # pragma: no cover
        pass
    return dict(node)


def method_name(cfg: Any) -> str:
    method = _get(cfg, "method")
    if isinstance(method, str):
        return method
    return str(_get(method, "name", "default"))


def method_args(cfg: Any) -> dict[str, Any]:
    """The model's arguments for the cell's method profile (``model.method_args.<method>``), or {}."""
    per_method = _get(_get(cfg, "model"), "method_args")
    return _plain(_get(per_method, method_name(cfg)))


def adapter_args(cfg: Any) -> dict[str, Any]:
    """``model.model_args`` with ``model.method_args.<method>`` merged over them (a new dict)."""
    return {**_plain(_get(_get(cfg, "model"), "model_args")), **method_args(cfg)}


def apply_method_args(cfg: Any) -> Any:
    """Write the merged arguments into ``cfg.model.model_args`` (in place; idempotent). Returns cfg."""
    extra = method_args(cfg)
    if not extra:
        return cfg
    from omegaconf import open_dict

    with open_dict(cfg):
        if cfg.model.get("model_args") is None:
            cfg.model.model_args = {}
        for key, value in extra.items():
            cfg.model.model_args[key] = value
    return cfg
