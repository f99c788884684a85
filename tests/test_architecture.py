"""The house rules a newcomer relies on: the package's folders form layers and imports run one way only
(down), no import circle between the package's modules (lazy, function-level imports included), and
``import videorag_eval`` stays light."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "videorag_eval"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports, anywhere in its body."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [f"{prefix}.{a.name}" for a in node.names] + [prefix]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                # the longest module name that the target is or lies inside
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name and not name.startswith(t + ".") and t != "videorag_eval":
                    graph[name].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


# The package's folders, lowest first: a module may import from its own folder and from folders before it, never
# from one after it (ARCHITECTURE.md draws the same order). Top-level modules are the command-line entry points.
LAYERS = ("core", "store", "runtime", "method", "benchmarks", "scoring", "report", "models", "lmms", "cell", "sweep",
          "<cli>")
CLI = ("__main__", "extract", "status", "doctor")


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts or (len(parts) == 1 and parts[0] in CLI):
        return "<cli>"
    return parts[0]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    rank = {name: i for i, name in enumerate(LAYERS)}
    return sorted(f"{a} -> {b} ({layer_of(a)} imports {layer_of(b)})" for a, targets in graph.items() for b in targets
                  if rank[layer_of(b)] > rank[layer_of(a)])


def test_every_module_is_in_a_layer():
    """A new folder or top-level module must be given its place in LAYERS (and in ARCHITECTURE.md)."""
    assert sorted(m for m in import_graph() if layer_of(m) not in LAYERS) == []


def test_imports_run_down_the_layers_only():
    assert upward_imports(import_graph()) == []


def test_the_layer_check_finds_a_planted_upward_import():
    graph = {"videorag_eval.method.pipeline": {"videorag_eval.cell.runner"}, "videorag_eval.cell.runner": set()}
    assert upward_imports(graph) == ["videorag_eval.method.pipeline -> videorag_eval.cell.runner (method imports cell)"]


def test_the_graph_sees_imports():
    graph = import_graph()
    assert "videorag_eval.lmms.factory" in graph["videorag_eval.cell.runner"]
    assert "videorag_eval.method.detection.pipeline" in graph["videorag_eval.method.pipeline"]  # a lazy import counts too


def test_no_import_cycle_between_modules():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()) or [])


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_import_videorag_eval_is_light():
    code = ("import sys, videorag_eval, videorag_eval.cell.settings, videorag_eval.cell.identity; "
            "print(sorted(m for m in ('torch', 'transformers', 'lmms_eval', 'faiss', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
