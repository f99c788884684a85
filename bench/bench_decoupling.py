"""Time the tolerant decoupling parser on pathological outputs (python bench/bench_decoupling.py)."""

import time

from videorag_eval.method.decoupling.parse import parse_decoupling

CASES = {"braces": "x { y " * 2000, "brackets": "{[" * 3000, "keys": '{"a": 1, ' * 500, "det": '{"DET": [' + '"a", ' * 2000}

for name, raw in CASES.items():
    t0 = time.perf_counter()
    parse_decoupling(raw)
    print(f"{name:10s} {len(raw):6d} chars  {1000 * (time.perf_counter() - t0):8.1f} ms")
