"""The public API keeps its documentation: every public class, function and method (what the
packages' ``__all__`` re-export) has a NumPy-style docstring, with a Parameters section when it
takes parameters, and type hints on its parameters and return value. ``make docs`` renders
these; this test fails when a public name loses them."""
import importlib
import inspect
import re
from pathlib import Path

import pytest

MODULES = ["sparsebolt", "sparsebolt.automl", "sparsebolt.automl.types", "sparsebolt.data", "sparsebolt.distributed",
           "sparsebolt.io", "sparsebolt.lsh", "sparsebolt.nn", "sparsebolt.serve", "sparsebolt.train",
           "sparsebolt.sklearn"]
SECTION = "Parameters\n----------"


def _module(name):
    if name == "sparsebolt.sklearn":
        pytest.importorskip("sklearn")
    return importlib.import_module(name)


def _public_objects():
    """(qualified name, object) of each class and function in the modules' ``__all__``, once."""
    seen, out = set(), []
    for mod_name in MODULES:
        mod = _module(mod_name)
        for name in mod.__all__:
            obj = getattr(mod, name)
            qual = f"{mod_name}.{name}"
            if id(obj) in seen or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            seen.add(id(obj))
            out.append((qual, obj))
    return out


def _methods(cls):
    """(name, function or property) of each public method and property that sparsebolt defines
    on ``cls`` or its sparsebolt base classes."""
    out = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next((c for c in cls.__mro__ if name in c.__dict__), None)
        if owner is None or not owner.__module__.startswith("sparsebolt"):
            continue
        attr = owner.__dict__[name]
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if isinstance(attr, property) or inspect.isfunction(attr):
            out.append((name, attr))
    return out


def _problems(fn, doc, *, returns=True):
    """What ``fn`` lacks: a docstring, a Parameters section (in ``doc``) when it takes
    parameters, annotations on its parameters and (with ``returns``) on its return value."""
    problems = []
    if not doc:
        problems.append("no docstring")
    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if named and SECTION not in (doc or ""):
        problems.append("no Parameters section")
    bare = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    if bare:
        problems.append(f"parameters without type hints: {bare}")
    if returns and sig.return_annotation is inspect.Signature.empty:
        problems.append("no return type hint")
    return problems


def _report():
    report = {}
    for qual, obj in _public_objects():
        if inspect.isfunction(obj):
            report[qual] = _problems(obj, inspect.getdoc(obj))
            continue
        class_doc = inspect.getdoc(obj)
        init = obj.__dict__.get("__init__")
        if not class_doc:
            report[qual] = ["no docstring"]
        elif init is not None:
            # scikit-learn's convention: the constructor's parameters are in the class docstring
            report[qual] = _problems(init, class_doc, returns=False)
        for name, attr in _methods(obj):
            where = f"{qual}.{name}"
            if isinstance(attr, property):
                report[where] = [] if attr.__doc__ else ["no docstring"]
                if ": " in (attr.__doc__ or "").strip().split("\n")[0]:
                    # napoleon reads "text: more" on a property's first line as "type: description"
                    report[where].append("a colon on the docstring's first line")
                if attr.fget is not None and "return" not in attr.fget.__annotations__:
                    report[where].append("no return type hint")
            else:
                # an override without a docstring of its own shows the overridden one
                report[where] = _problems(attr, inspect.getdoc(getattr(obj, name)))
    return {k: v for k, v in report.items() if v}


def test_the_walk_finds_the_public_api():
    names = {qual for qual, _ in _public_objects()}
    assert {"sparsebolt.Model", "sparsebolt.UniversalDeepTransformer", "sparsebolt.data.load_svm",
            "sparsebolt.io.verify", "sparsebolt.distributed.train", "sparsebolt.serve.run",
            "sparsebolt.train.EarlyStopping", "sparsebolt.automl.types.categorical"} <= names
    methods = {name for name, _ in _methods(__import__("sparsebolt").UniversalDeepTransformer)}
    assert {"train", "evaluate", "predict", "save", "load", "n_classes"} <= methods


def test_public_api_has_docstrings_and_type_hints():
    report = _report()
    assert not report, "\n".join(f"{k}: {'; '.join(v)}" for k, v in sorted(report.items()))


def test_the_check_catches_a_missing_docstring_and_hint():
    def documented(x: int) -> int:
        """Double.

        Parameters
        ----------
        x : int
            A number.
        """
        return 2 * x

    def bare(x):
        return 2 * x

    assert _problems(documented, inspect.getdoc(documented)) == []
    assert _problems(bare, inspect.getdoc(bare)) == ["no docstring", "no Parameters section",
                                                     "parameters without type hints: ['x']",
                                                     "no return type hint"]


def test_api_reference_names_every_public_class_and_function():
    # docs/api is built by `make docs`; a name left out of its pages is missing from the reference
    pages = "\n".join(p.read_text() for p in (Path(__file__).resolve().parents[1] / "docs" / "api").glob("*.rst"))
    whole = set(re.findall(r"automodule:: (\S+)\n   :members:\n", pages))
    missing = []
    for qual, _ in _public_objects():
        mod, name = qual.rsplit(".", 1)
        if mod.replace("sparsebolt.automl.types", "sparsebolt.types") in whole:
            continue
        if not re.search(rf"\b{re.escape(name)}\b", pages):
            missing.append(qual)
    assert not missing, f"not in docs/api/*.rst: {missing}"
