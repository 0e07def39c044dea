"""Packaging conventions: the version in one place, python -m sparsebolt, py.typed shipped;
no dead imports or constants in the source."""
import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import sparsebolt as sb

ROOT = Path(__file__).resolve().parents[1]


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_python_m_sparsebolt_prints_the_version():
    out = subprocess.run([sys.executable, "-m", "sparsebolt", "--version"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"sparsebolt, version {sb.__version__}"


def test_version_matches_pyproject_and_changelog():
    assert sb.__version__ == _pyproject()["project"]["version"]
    assert f"## [{sb.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_py_typed_is_in_the_package_and_its_package_data():
    assert (ROOT / "sparsebolt" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["sparsebolt"]


def _names_used(tree):
    """The names a module's code reads, with those of its quoted annotations."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs + [node.args.vararg, node.args.kwarg]
            for ann in [a.annotation for a in args if a is not None] + [node.returns]:
                if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
                    used |= {n.id for n in ast.walk(ast.parse(ann.value, mode="eval")) if isinstance(n, ast.Name)}
    return used


def test_no_module_imports_a_name_it_never_uses():
    # a package's __init__ imports to re-export; '# noqa: F401' marks an import made to test it is installed
    found = []
    for path in sorted((ROOT / "sparsebolt").rglob("*.py")):
        if path.name == "__init__.py":
            continue
        source = path.read_text(encoding="utf-8")
        lines, tree = source.splitlines(), ast.parse(source)
        used = _names_used(tree)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or getattr(node, "module", None) == "__future__":
                continue
            if "# noqa: F401" in lines[node.lineno - 1]:
                continue
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {a.asname or a.name}" for a in node.names
                      if (a.asname or a.name).split(".")[0] not in used]
    assert found == []


def test_every_module_constant_is_used():
    sources = {path: path.read_text(encoding="utf-8") for path in (ROOT / "sparsebolt").rglob("*.py")}
    found = []
    for path, source in sorted(sources.items()):
        for node in ast.parse(source).body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            name = node.targets[0].id
            if name.lstrip("_").isupper() and sum(len(re.findall(rf"\b{name}\b", s)) for s in sources.values()) == 1:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == []


def _unpackings_before_a_prange(source):
    """Lines of a function holding a prange that unpack four names or more from a tuple that
    indexes something, outside the prange loops: numba 0.68 compiled ``p, g, m, v = A[i], B[i],
    C[i], D[i]`` before ``for c in prange(...)`` writing into p into a kernel that changed
    nothing, silently (three names, or one a statement, compiled right; scratch s58/bug.py)."""
    def is_prange(node):
        return isinstance(node, ast.For) and isinstance(node.iter, ast.Call) and \
            getattr(node.iter.func, "id", None) == "prange"

    def outside(node):
        if is_prange(node):
            return
        yield node
        for child in ast.iter_child_nodes(node):
            yield from outside(child)

    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef) or not any(is_prange(n) for n in ast.walk(fn)):
            continue
        for node in outside(fn):
            if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple)
                    and len(node.targets[0].elts) >= 4 and isinstance(node.value, ast.Tuple)
                    and any(isinstance(v, ast.Subscript) for v in node.value.elts)):
                found.append(node.lineno)
    return found


def test_no_kernel_unpacks_four_indexed_names_before_a_prange():
    broken = "def k(A, B, C, D):\n    p, g, m, v = A[0], B[0], C[0], D[0]\n    for c in prange(4):\n        p[c] += 1\n"
    assert _unpackings_before_a_prange(broken) == [2]
    found = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "sparsebolt").rglob("*.py"))
             for line in _unpackings_before_a_prange(path.read_text(encoding="utf-8"))]
    assert found == []
