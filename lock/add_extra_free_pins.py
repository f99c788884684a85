"""Post-process a ``uv pip compile --no-strip-extras`` lock for pip's hash-checking mode.

pip (at least up to 23.x) treats ``pkg[extra]==V`` and a transitive ``pkg>=...`` as two requirements
and, in ``--require-hashes`` mode, refuses the second as unpinned. For every pinned line with extras
this adds the same pin without extras (same hashes), so both are pinned. Idempotent.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def add_pins(text: str) -> str:
    lines = text.splitlines()
    pinned = {m.group(1).lower() for line in lines if (m := re.match(r"^([A-Za-z0-9_.-]+)==", line))}
    out: list[str] = []
    i = 0
    while i < len(lines):
        block = [lines[i]]
        while block[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            block.append(lines[i])
        out.extend(block)
        m = re.match(r"^([A-Za-z0-9_.-]+)\[[^\]]+\](==.*)$", block[0])
        if m and m.group(1).lower() not in pinned:
            out.extend([m.group(1) + m.group(2)] + block[1:])
            out.append("    # (the same pin without extras, for pip's --require-hashes mode)")
            pinned.add(m.group(1).lower())
        i += 1
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    path = Path(sys.argv[1])
    path.write_text(add_pins(path.read_text()))
