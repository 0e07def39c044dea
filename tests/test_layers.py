"""The packages form layers: a module may import its own package, a package of its layer
or one below, never one above. A test that reads every import in sparsebolt/ (at module
level and inside functions) and fails naming the file, line and packages of one that goes
up."""
import ast
import pathlib


ROOT = pathlib.Path(__file__).resolve().parent.parent / "sparsebolt"

# lowest first; each package may import its own layer and those below
LAYERS = [
    {"_validation", "_state", "_threads", "_version", "_plot", "_files", "kernels"},
    {"lsh", "data", "io"},
    {"nn"},
    {"train"},
    {"distributed", "automl"},
    {"serve", "cli", "sklearn", "__main__"},
]
LEVEL = {name: i for i, layer in enumerate(LAYERS) for name in layer}

# Model's user-facing methods (train, evaluate, predict, pin_labels, prepare_sparse_inference) hand over to train/,
# as Keras's Model.fit hands over to its trainer: function-local imports, never at load time
FACADE = {("nn/model.py", "train")}


def _package(path):
    rel = path.relative_to(ROOT)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else None


def _imports(path):
    """(line, imported package or None for the package root, at module level) of each import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    depth = len(path.relative_to(ROOT).parts) - 1
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            up = node.level - 1
            if up > depth:
                continue
            base = list(path.relative_to(ROOT).parts[:depth - up])
            parts = base + (node.module.split(".") if node.module else [])
            if parts:
                yield node.lineno, parts[0].removesuffix(".py"), id(node) in top_level
            else:  # from the package root: the names it holds are subpackages or the root's own
                for alias in node.names:
                    name = alias.name
                    yield node.lineno, name if name in LEVEL else None, id(node) in top_level
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mod = node.module if isinstance(node, ast.ImportFrom) else None
            names = [mod] if mod else [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "sparsebolt":
                    yield node.lineno, parts[1] if len(parts) > 1 else None, id(node) in top_level


def _violations():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        own = _package(path)
        if own is None:
            continue
        for line, target, module_level in _imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if target is None:
                # the root re-exports every package: only the top layer may take names from it
                if own not in LAYERS[-1]:
                    found.append(f"{where}: {own} imports the sparsebolt package root (import the module instead)")
            elif target == own:
                continue
            elif target not in LEVEL or own not in LEVEL:
                found.append(f"{where}: {own} -> {target}: a package missing from LAYERS")
            elif LEVEL[target] > LEVEL[own]:
                rel = str(path.relative_to(ROOT))
                if not module_level and (rel, target) in FACADE:
                    continue
                found.append(f"{where}: {own} (layer {LEVEL[own]}) imports {target} (layer {LEVEL[target]})")
    return found


def test_no_package_imports_one_above_it():
    assert _violations() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "sparsebolt"
    (fake / "io").mkdir(parents=True)
    (fake / "io" / "bad.py").write_text("from ..nn.model import Model\n\ndef f():\n    from ..train import fit\n")
    monkeypatch.setitem(globals(), "ROOT", fake)
    assert _violations() == ["io/bad.py:1: io (layer 1) imports nn (layer 2)",
                             "io/bad.py:4: io (layer 1) imports train (layer 3)"]


def test_no_module_takes_a_private_name_from_another_package():
    """Parsers and helpers shared across packages are public (``data.svm.parse_lines``,
    ``data.csv.open_text``); the root's helper modules are shared by every package."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        own = _package(path)
        depth = len(path.relative_to(ROOT).parts) - 1
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.level and node.module):
                continue
            parts = list(path.relative_to(ROOT).parts[:depth - (node.level - 1)]) + node.module.split(".")
            target = parts[0].removesuffix(".py")
            if target == own or target in LAYERS[0] - {"kernels"}:
                continue
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {alias.name} from {node.module}"
                      for alias in node.names if alias.name.startswith("_")]
    assert found == []
