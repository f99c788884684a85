"""The documentation stays a map that leads somewhere: README is a short front door, every relative link in README,
ARCHITECTURE.md, docs/ and slurm/README.md reaches an existing file (and heading, for a #anchor), every docs page is
linked from README, and every module, function or repository file the pages name in backticks exists."""

import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "videorag_eval"
README_MAX_LINES = 200
PAGES = sorted([REPO / "README.md", REPO / "ARCHITECTURE.md", REPO / "slurm" / "README.md",
                *(REPO / "docs").glob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
# the package's folders (tests/test_architecture.py LAYERS) and the repository's own top-level folders
FOLDERS = tuple(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
REPO_DIRS = ("tests", "bench", "lock", "conf", "tasks", "hydra_plugins", "slurm", ".ci", "docs")


def prose(text: str) -> str:
    """The page without its fenced code blocks (commands and diagrams are not links or headings)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append(line)
    return "\n".join(out)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped (``_`` and ``-`` kept), spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@lru_cache(maxsize=None)
def anchors(page: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in prose(page.read_text(encoding="utf-8")).splitlines():
        if m := re.match(r"#{1,6}\s+(.*)", line):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return frozenset(out)


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # https:, mailto: -- not ours to check offline
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        shown = dest.relative_to(REPO) if dest.is_relative_to(REPO) else dest
        if not dest.exists():
            broken.append(f"{target}: no file {shown}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{anchor} in {shown}")
    return broken


def test_readme_is_a_front_door():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (f"README.md has {len(lines)} lines (at most {README_MAX_LINES}): "
                                            "move the detail into a page of docs/ and link it")
    first = "\n".join(lines[:40])
    assert "pip install -r lock/requirements.txt" in first and "python -m pytest" in first, \
        "README's two commands (install + demo, the tests) come first"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_reaches_a_file_and_heading(page):
    assert broken_links(page) == []


def test_every_docs_page_is_linked_from_the_readme():
    readme = prose((REPO / "README.md").read_text(encoding="utf-8"))
    linked = {(REPO / target.partition("#")[0]).resolve() for target in LINK.findall(readme)}
    assert sorted(p.name for p in (REPO / "docs").glob("*.md") if p.resolve() not in linked) == []


@lru_cache(maxsize=None)
def _module(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _defines(body: list[ast.stmt], name: str) -> list[ast.stmt] | None:
    """The body of ``name`` (a class's, else []) if ``body`` defines it at its level, else None."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node.body if isinstance(node, ast.ClassDef) else []
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return []
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return []
    return None


def missing_reference(token: str) -> str | None:
    """Why a backticked repository path or ``folder/module.name`` does not resolve, or None (resolves, or not one)."""
    if any(c in token for c in "<>*{}$ ") or token.startswith(("/", "~")):
        return None  # a pattern or a placeholder, not a path
    token = token.split("::")[0].removeprefix("videorag_eval/")
    head = token.split("/")[0]
    if head in REPO_DIRS or token.startswith(("pyproject.toml", "setup.py")):
        return None if (REPO / token).exists() else f"no file {token}"
    if head not in FOLDERS or "/" not in token:
        return None
    *dirs, last = token.rstrip("/").split("/")
    base = PACKAGE.joinpath(*dirs)
    if (base / last).exists() or (base / f"{last}.py").exists():  # a folder, a file, a module
        return None
    module, _, attrs = last.removesuffix(".py").partition(".")
    path = base / f"{module}.py"
    if not path.exists():
        return f"no module videorag_eval/{'/'.join(dirs + [module])}.py"
    body: list[ast.stmt] | None = _module(path).body
    for name in attrs.split("."):
        body = _defines(body or [], name)
        if body is None:
            return f"{path.relative_to(REPO)} defines no {attrs}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_named_module_and_file_exists(page):
    tokens = sorted(set(CODE.findall(page.read_text(encoding="utf-8"))))
    assert [f"`{t}`: {why}" for t in tokens if (why := missing_reference(t))] == []


def test_the_checks_find_what_is_wrong(tmp_path):
    """The checkers themselves: a planted dead link, a wrong anchor and a renamed module are each found."""
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n## Token budget\n\n[ok](#token-budget) [gone](nowhere.md) [bad](#no-such)\n"
                    "```\n[in code](ignored.md)\n```\n", encoding="utf-8")
    assert [b.split(":")[0] for b in broken_links(page)] == ["nowhere.md", "#no-such"]
    assert slug("The control arm: `rag=subtitles`") == "the-control-arm-ragsubtitles"
    assert missing_reference("lmms/factory.build_inner") is None
    assert missing_reference("method/pipeline.AuxPipeline.augment") is None
    assert missing_reference("lmms/factory.build_everything") == \
        "videorag_eval/lmms/factory.py defines no build_everything"
    assert missing_reference("cache_packs.py") is None  # a bare name is not checked
    assert missing_reference("store/cache_packs.py") == "no module videorag_eval/store/cache_packs.py"
    assert missing_reference("tests/test_no_such_file.py") == "no file tests/test_no_such_file.py"


# Where the code and configs send a reader: `docs/<page>.md` (optionally followed by , "Heading"), or a README section
POINTER = re.compile(r"""(docs/[\w-]+\.md|README)(?:'s)?,?\s*\\?["']([A-Z][^"'\\]*)\\?["']|(docs/[\w-]+\.md)""")


def _texts(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return [text]
    # string constants as Python joins them (a message split over lines), and the raw text for comments
    strings = [n.value for n in ast.walk(_module(path)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return [text] + strings


def dead_pointers(path: Path) -> list[str]:
    dead = []
    for text in _texts(path):
        for page, heading, bare in POINTER.findall(text):
            page = page or bare
            target = REPO / ("README.md" if page == "README" else page)
            if not target.exists():
                dead.append(f"{page}: no such page")
            elif heading and not any(a.startswith(slug(heading)) for a in anchors(target)):
                dead.append(f'{page}, "{heading}": no such heading')
    return sorted(set(dead))


CODE_FILES = sorted(p for d in ("videorag_eval", "hydra_plugins", "conf", "bench", "lock", "tasks", "tests", ".ci")
                    for p in (REPO / d).rglob("*") if p.suffix in (".py", ".yaml", ".in", ".sh", "") and p.is_file()
                    and p.name != "requirements.txt" and "__pycache__" not in p.parts and p.stat().st_size < 2_000_000)


def test_every_pointer_from_the_code_into_the_docs_resolves():
    """An error message or comment that sends a reader to `docs/install.md`, or to README "Install", names a page and
    heading that exist (the README's sections moved to docs/; a message naming a gone section sends users nowhere)."""
    here = Path(__file__).resolve()
    dead = {str(p.relative_to(REPO)): d for p in CODE_FILES if p != here and (d := dead_pointers(p))}
    assert dead == {}


def test_the_pointer_check_finds_a_gone_section(tmp_path):
    py = tmp_path / "m.py"
    py.write_text('FIX = ("see README, \\"Local "\n       "benchmark copies\\")")'
                  '  # docs/method.md, "Method profiles"\nX = "docs/nowhere.md"\n', encoding="utf-8")
    dead = dead_pointers(py)
    assert 'README, "Local benchmark copies": no such heading' in dead and "docs/nowhere.md: no such page" in dead
    assert not any("Method profiles" in d for d in dead)
