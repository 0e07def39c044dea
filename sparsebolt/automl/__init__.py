"""The AutoML model: typed columns in, a sparse model out (``sb.UniversalDeepTransformer``)."""
from . import types
from .udt import UniversalDeepTransformer, default_output_sparsity

__all__ = ["types", "UniversalDeepTransformer", "default_output_sparsity"]
