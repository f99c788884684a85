"""Files are written honouring the umask (issue 19): with ``umask 002`` in a group-writable setgid
directory, a group shares one cache and one results root. Before, every file the harness wrote was
0600 whatever the umask (``mkstemp``), so nobody else could read a cell or add to a shared cache."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in root.rglob("*") if not p.is_symlink()}


def _shared_dir(path: Path) -> Path:
    path.mkdir()
    os.chmod(path, 0o2775)  # group-writable, setgid: what README tells a group to make
    return path


def test_cache_entries_packs_and_cell_files_follow_umask_002(tmp_path):
    shared = _shared_dir(tmp_path / "shared")
    code = f"""
import os
os.umask(0o002)
import numpy as np
from pathlib import Path
from videorag_eval.store.cache import Cache
from videorag_eval.cell.lock import CellLock
from videorag_eval.core.files import write_json
cache = Cache(Path({str(shared / 'cache')!r}))
cache.put_json("ns", "k" * 64, {{"a": 1}})                    # a single entry
cache.put_array("ns", "j" * 64, np.zeros(3))
cache.put_json("asr_segments", "k" * 64, [1], group="video")  # a packed entry
cell = Path({str(shared / 'results' / 'cell')!r})
with CellLock(cell):
    write_json(cell / "metrics.json", {{"n": 1}})
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)
    modes = _modes(shared)
    files = {k: m for k, m in modes.items() if not (shared / k).is_dir()}
    dirs = {k: m for k, m in modes.items() if (shared / k).is_dir()}
    assert any(k.endswith(".pack") for k in files) and "results/cell/metrics.json" in files
    assert "results/cell/.lock" in files
    assert all(m == 0o664 for m in files.values()), {k: oct(m) for k, m in files.items() if m != 0o664}
    # directories: group-writable and setgid, so the group's files stay the group's
    assert all(m == 0o2775 for m in dirs.values()), {k: oct(m) for k, m in dirs.items() if m != 0o2775}


def test_a_private_umask_still_gives_private_files(tmp_path):
    code = f"""
import os
os.umask(0o077)
from videorag_eval.core.files import write_json
write_json({str(tmp_path / 'x.json')!r}, 1)
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)
    assert stat.S_IMODE((tmp_path / "x.json").stat().st_mode) == 0o600


def test_a_demo_cell_in_a_shared_directory_is_readable_and_writable_by_the_group(tmp_path):
    shared = _shared_dir(tmp_path / "shared")
    args = ["rag=none", "limit=2", f"results_dir={shared / 'results'}", f"cache_dir={shared / 'cache'}"]
    # the command as a user of the group types it, under umask 002
    proc = subprocess.run(["sh", "-c", 'umask 002 && exec "$@"', "sh", sys.executable, "-m", "videorag_eval", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    modes = _modes(shared)
    cell_files = [k for k in modes if k.endswith(("metrics.json", "samples.jsonl", "identity.json", "config.yaml"))]
    assert len(cell_files) >= 4
    bad = {k: oct(m) for k, m in modes.items() if not (shared / k).is_dir() and m & 0o060 != 0o060}
    assert not bad, bad  # every file the run wrote, cache and cell: group read + write
    assert all(m & stat.S_ISGID for k, m in modes.items() if (shared / k).is_dir())
