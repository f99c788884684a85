"""Inner models of our own (lmms-eval ``lmms`` subclasses) and builders of model configs."""
