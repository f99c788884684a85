"""Reporting on finished cells: the console summary of one cell and the ablation report of many."""
