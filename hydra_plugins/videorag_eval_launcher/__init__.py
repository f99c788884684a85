"""Hydra launcher plugin of videorag_eval (``hydra/launcher=slurm``, conf/hydra/launcher/slurm.yaml).

Hydra only instantiates launchers that live in the ``hydra_plugins`` namespace package, so this
thin module is shipped beside ``videorag_eval``; the logic is in ``videorag_eval.sweep.submit_plan``.
"""
