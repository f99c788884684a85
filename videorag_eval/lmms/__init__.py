"""The edge to lmms-eval: the `videorag` model wrapper, building inner models, fixes of lmms-eval's adapters, task YAMLs, model registration."""
