"""lmms-eval registration (entry point group ``lmms_eval.models``).

lmms-eval 0.7.x resolves plugin models only through ``ModelManifest`` payloads; ``@register_model``
alone is not enough. The payload is a callable so that lmms-eval is imported only when it asks.
"""


def manifests():
    from lmms_eval.models.registry_v2 import ModelManifest

    return [
        ModelManifest(model_id="videorag", simple_class_path="videorag_eval.cell.lmms_entry.ConfiguredVideoRAG"),
        ModelManifest(model_id="videorag_text_only", simple_class_path="videorag_eval.models.text_only.TextOnlyMatcher"),
        ModelManifest(model_id="videorag_scripted", simple_class_path="videorag_eval.models.scripted.ScriptedLVLM"),
    ]
