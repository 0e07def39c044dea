"""Sphinx configuration of the API reference (built by ``make docs``, warnings as errors)."""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import sparsebolt  # noqa: E402

project = "sparsebolt"
release = version = sparsebolt.__version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
html_theme = "alabaster"
exclude_patterns = ["_build"]
