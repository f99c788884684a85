"""Install the project into a brand-new venv and check it the way a new user would.

    python lock/check_env.py --from lock     # README's install (the lock): must always pass
    python lock/check_env.py --from ranges   # the drift check: pyproject's ranges, today's newest releases
    python lock/check_env.py --from vllm     # the serving environment of the *_vllm configs (lock/vllm/)

Each run: a new venv, the install (timed), the packages that differ from the lock, the pre-flight of every
shipped model's code (``python -m videorag_eval.doctor model=... --checks=model``: packages, the names they
import from transformers, adapter classes, their arguments), then the embedded demo with the network cut
off where ``unshare -n`` works. For a failure, the packages the error names that drifted from the lock are
reinstalled at their locked version one at a time and the failing check re-run: a check that then passes
names the release that broke it. ``--from vllm`` installs ``lock/vllm/requirements.txt`` (vLLM with the
torch it pins) and checks what applies there: ``import vllm`` and its SamplingParams, the pre-flight of the
``*_vllm`` configs, the demo, a tiny Qwen2.5-VL cell (batch 2) and ``tests/test_vllm_path.py`` (what the vllm
adapter hands its engine, with vLLM's own SamplingParams). Not part of CI (an upstream release must not block a landing); run it
before refreshing the lock (``lock/refresh.sh``) and whenever a user reports a fresh install failing.
The venv and the demo's results go under ``results/.envcheck/`` (``--dir`` to change); a JSON report
is written beside them.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "lock" / "requirements.txt"
SERVING_LOCK = REPO / "lock" / "vllm" / "requirements.txt"
MODELS = sorted(p.stem for p in (REPO / "conf" / "model").glob("*.yaml")
                if not p.stem.startswith("tiny_") and p.stem not in ("text_only", "scripted"))
SERVING_MODELS = [m for m in MODELS if m.endswith("_vllm")]
# In the serving environment: vLLM imports and builds its SamplingParams (generating needs a GPU)
VLLM_IMPORT = ("import vllm, torch, transformers; from vllm import SamplingParams; "
               "p = SamplingParams(max_tokens=16, temperature=0); assert p.max_tokens == 16; "
               "print('vllm', vllm.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__)")


def locked_pins(lock: Path = LOCK) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line):
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run(cmd: list[str], log: Path, **kw) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    seconds = time.perf_counter() - t0
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}\n[exit {proc.returncode}, {seconds:.1f} s]\n")
    return proc.returncode, seconds, proc.stdout + proc.stderr


def install(venv: Path, mode: str, log: Path) -> tuple[bool, float, str]:
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install"]
    if mode in ("lock", "vllm"):
        steps = [pip + ["-r", str(SERVING_LOCK if mode == "vllm" else LOCK)], pip + ["--no-deps", "-e", str(REPO)]]
    else:
        steps = [pip + ["torch==2.14.1", "torchvision==0.29.1"], pip + ["-e", f"{REPO}[demo,test]"]]
    total = 0.0
    for step in steps:
        code, seconds, out = run(step, log)
        total += seconds
        if code != 0:  # pip's own reason: the conflict lines, else its errors
            lines = out.splitlines()
            start = next((i for i, line in enumerate(lines) if "conflict is caused by" in line), None)
            why = lines[start:start + 12] if start is not None else [ln for ln in lines if ln.startswith("ERROR")]
            return False, total, "\n".join(why)
    return True, total, ""


def drift(venv: Path, log: Path, lock: Path = LOCK) -> list[dict]:
    _, _, out = run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"], log)
    installed = {_norm(p["name"]): p["version"] for p in json.loads(out[out.index("["):out.rindex("]") + 1])}
    pins = locked_pins(lock)
    return [{"package": n, "locked": pins.get(n), "installed": v} for n, v in sorted(installed.items())
            if n in pins and pins[n] != v] + [{"package": n, "locked": None, "installed": v}
                                                for n, v in sorted(installed.items()) if n not in pins
                                                and n not in ("pip", "setuptools", "wheel", "videorag-eval")]


def model_check(venv: Path, log: Path, models: list[str] = MODELS, lock: Path = LOCK) -> list[dict]:
    _, _, out = run([str(venv / "bin" / "python"), "-m", "videorag_eval.doctor", "--json", "--checks=model",
                     "model=" + ",".join(models)], log, cwd=REPO)
    try:
        report = json.loads(out[out.index("{"):out.rindex("}") + 1])
    except ValueError:
        return [{"check": "doctor", "subject": "doctor", "problem": out[-2000:], "fix": ""}]
    # packages outside the lock (git-only LLaVA-NeXT and LongVA, vLLM for GPU nodes) not installed: not a drift
    pins = locked_pins(lock)
    return [p for p in report["problems"] if not (p["check"] == "package" and _norm(p["subject"]) not in pins)]


def demo(venv: Path, out_dir: Path, log: Path) -> dict:
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [str(venv / "bin" / "python"), "-m", "videorag_eval", f"results_dir={out_dir}"]
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-n"] + cmd
    code, seconds, out = run(cmd, log, cwd=REPO)
    metrics = sorted(out_dir.glob("demo/*/*/metrics.json"))
    accuracy = json.loads(metrics[0].read_text())["accuracy"] if metrics else None
    return {"exit": code, "seconds": round(seconds, 1), "accuracy": accuracy, "offline": cmd[0] == "unshare",
            "error": None if code == 0 else "\n".join(out.strip().splitlines()[-6:])}


def serving_checks(venv: Path, root: Path, log: Path) -> dict:
    """What applies in the serving environment beyond the pre-flight: vLLM imports, a tiny Qwen2.5-VL cell
    through the real qwen2_5_vl adapter in batches, and the vllm adapter's path (tests/test_vllm_path.py)."""
    py = str(venv / "bin" / "python")
    out = {}
    code, seconds, text = run([py, "-c", VLLM_IMPORT], log, cwd=REPO)
    out["import_vllm"] = {"exit": code, "seconds": round(seconds, 1),
                          "versions": next((ln for ln in text.splitlines() if ln.startswith("vllm ")), None)}
    cell_dir = root / "tiny_results"
    shutil.rmtree(cell_dir, ignore_errors=True)
    code, seconds, text = run([py, "-m", "videorag_eval", "model=tiny_qwen2_5_vl", "task=demo", "rag=none", "limit=4",
                               "batch_size=2", f"results_dir={cell_dir}", f"cache_dir={root / 'tiny_cache'}"], log, cwd=REPO)
    metrics = sorted(cell_dir.glob("demo/*/*/metrics.json"))
    calls = json.loads(metrics[0].read_text())["batching"]["inner_calls"]["answer"] if metrics else None
    out["tiny_qwen2_5_vl_cell"] = {"exit": code, "seconds": round(seconds, 1), "answer_calls": calls}
    code, seconds, text = run([py, "-m", "pytest", "-q", "--runslow", "-p", "no:cacheprovider",
                               "tests/test_vllm_path.py"], log, cwd=REPO)  # --runslow: the file is in the slow set
    out["test_vllm_path"] = {"exit": code, "seconds": round(seconds, 1), "summary": (text.strip().splitlines() or [""])[-1]}
    return out


def named_packages(text: str, drifted: list[dict]) -> list[dict]:
    """Drifted packages whose import name appears in an error text (No module named 'x', from 'x', ...)."""
    names = set(re.findall(r"[\"' ]([A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z0-9_.]+)?[\"' ]", text)) | set(
        re.findall(r"\b([a-z][a-z0-9_]+) \d+\.\d+", text))
    names = {_norm(n) for n in names}
    return [d for d in drifted if d["locked"] and d["package"] in names]


def attribute(venv: Path, failing: str, text: str, drifted: list[dict], recheck, log: Path) -> list[str]:
    """Reinstall each suspect at its locked version; the one whose pin makes ``recheck`` pass broke it."""
    found = []
    for suspect in named_packages(text, drifted):
        code, _, _ = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                          f"{suspect['package']}=={suspect['locked']}"], log)
        if code == 0 and recheck():
            found.append(f"{suspect['package']} {suspect['installed']} breaks {failing} "
                         f"({suspect['locked']}, as locked, works)")
            break
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="mode", choices=("lock", "ranges", "vllm"), default="lock")
    ap.add_argument("--dir", type=Path, default=REPO / "results" / ".envcheck")
    args = ap.parse_args()
    root = args.dir / args.mode
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    log = root / "log.txt"
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    report: dict = {"mode": args.mode, "date": time.strftime("%Y-%m-%d"), "python": sys.version.split()[0]}
    ok, seconds, why = install(venv, args.mode, log)
    report["install"] = {"ok": ok, "seconds": round(seconds, 1), "error": why or None}
    print(f"install ({args.mode}): {'ok' if ok else 'FAILED'} in {seconds:.0f} s (log: {log})", flush=True)
    if why:
        print(why)
    if not ok:
        (root / "report.json").write_text(json.dumps(report, indent=2))
        return 1
    lock, models = (SERVING_LOCK, SERVING_MODELS) if args.mode == "vllm" else (LOCK, MODELS)
    report["drift"] = drifted = drift(venv, log, lock)
    print(f"{sum(1 for d in drifted if d['locked'])} package(s) differ from the lock, "
          f"{sum(1 for d in drifted if not d['locked'])} not in it", flush=True)
    for d in drifted:
        print(f"  {d['package']}: locked {d['locked']}, installed {d['installed']}")
    report["models"] = problems = model_check(venv, log, models, lock)
    print(f"model code of {len(models)} configs: {len(problems)} problem(s)", flush=True)
    report["demo"] = result = demo(venv, root / "demo_results", log)
    print(f"demo: exit {result['exit']}, accuracy {result['accuracy']}, {result['seconds']} s"
          f"{' (offline)' if result['offline'] else ''}", flush=True)
    serving_failed = False
    if args.mode == "vllm":
        report["serving"] = serving = serving_checks(venv, root, log)
        for name, r in serving.items():
            print(f"{name}: exit {r['exit']}, {r['seconds']} s  "
                  f"{ {k: v for k, v in r.items() if k not in ('exit', 'seconds')} }", flush=True)
        serving_failed = any(r["exit"] != 0 for r in serving.values())
    culprits = []
    for p in problems:
        print(f"  [{p['check']}] {p['subject']}: {p['problem']}")
        culprits += attribute(venv, f"{p['subject']} ({p['check']})", p["problem"], drifted,
                              lambda s=p["subject"]: all(q["subject"] != s for q in model_check(venv, log, models, lock)),
                              log)
    if result["exit"] != 0:
        print(f"  demo error: {result['error']}")
        culprits += attribute(venv, "the demo", result["error"] or "", drifted,
                              lambda: demo(venv, root / "demo_results", log)["exit"] == 0, log)
    report["culprits"] = culprits
    for line in culprits:
        print(f"BREAKS: {line}")
    (root / "report.json").write_text(json.dumps(report, indent=2))
    print(f"report: {root / 'report.json'}")
    return 0 if not problems and result["exit"] == 0 and not serving_failed else 1


if __name__ == "__main__":
    sys.exit(main())
