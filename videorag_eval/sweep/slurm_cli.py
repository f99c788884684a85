"""SLURM's client commands (``scontrol``, ``squeue``, ``sacct``) run with a time limit, and their
output read: ``scontrol show ... -o`` records, SLURM's time and memory units.

A command that is missing, does not answer in time, or fails raises ``SchedulerUnavailable`` with the
command and why; callers say so and go on (a login node that hides the scheduler, no SLURM here).
"""

from __future__ import annotations

import re
import subprocess
from typing import Sequence

TIMEOUT_S = 10.0


class SchedulerUnavailable(RuntimeError):
    """A SLURM command could not be run or failed (the message names the command and why)."""


def run(args: Sequence[str], timeout: float = TIMEOUT_S) -> str:
    """stdout of a SLURM client command; SchedulerUnavailable if it is missing, hangs or fails."""
    shown = " ".join(args)
    try:
        proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise SchedulerUnavailable(f"{args[0]} not found (no SLURM client on this machine)") from None
    except subprocess.TimeoutExpired:
        raise SchedulerUnavailable(f"`{shown}` did not answer in {timeout:.0f} s") from None
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).strip().splitlines()
        raise SchedulerUnavailable(f"`{shown}` failed: {why[-1] if why else f'exit code {proc.returncode}'}")
    return proc.stdout


_KEY = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z0-9_]*)=")


def records(text: str) -> list[dict[str, str]]:
    """One dict per line of ``scontrol show node|partition -o`` (values may hold spaces, e.g. ``OS=``)."""
    out = []
    for line in text.splitlines():
        keys = list(_KEY.finditer(line))
        if not keys:
            continue
        record = {}
        for here, after in zip(keys, keys[1:] + [None]):
            end = after.start() if after is not None else len(line)
            record[here.group(1)] = line[here.end():end].strip()
        out.append(record)
    return out


def minutes(value: str | None) -> float | None:
    """A SLURM time (``UNLIMITED``, ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM[:SS]``) in
    minutes; None for unlimited or unset."""
    if value is None:
        return None
    value = str(value).strip()
    if value.upper() in ("", "UNLIMITED", "INFINITE", "NONE", "N/A", "(NULL)"):
        return None
    days = 0
    if "-" in value:
        d, value = value.split("-", 1)
        days = int(d)
        parts = [int(p) for p in value.split(":")] + [0, 0]
        h, m, s = parts[0], parts[1], parts[2]
    else:
        parts = [int(p) for p in value.split(":")]
        if len(parts) == 1:
            h, m, s = 0, parts[0], 0
        elif len(parts) == 2:
            h, m, s = 0, parts[0], parts[1]
        else:
            h, m, s = parts[0], parts[1], parts[2]
    return days * 1440 + h * 60 + m + s / 60


def megabytes(value: str | int | float | None) -> float | None:
    """A SLURM memory size (``64GB``, ``64G``, ``500M``, ``2T``; a bare number is MB) in MB (SLURM's
    units are powers of 1024: 1G = 1024 MB); None for unset or unlimited."""
    if value is None:
        return None
    text = str(value).strip().upper()
    if text in ("", "UNLIMITED", "NONE", "N/A", "(NULL)"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)B?", text)
    if not match:
        raise ValueError(f"not a SLURM memory size: {value!r}")
    scale = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[match.group(2)]
    return float(match.group(1)) * scale


def hostnames(expression: str) -> list[str]:
    """Node names of a hostlist expression (``gpu[01-04],cpu1``), expanded by ``scontrol show hostnames``."""
    if not re.search(r"[\[\]]", expression):
        return [h for h in expression.split(",") if h]
    return run(["scontrol", "show", "hostnames", expression]).split()
