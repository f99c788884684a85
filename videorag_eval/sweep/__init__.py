"""Many cells: Hydra callbacks of a multirun, which cells a SLURM sweep submits, the scheduler."""
