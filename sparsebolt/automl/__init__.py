"""The AutoML model: typed columns in, a sparse model out (``sb.UniversalDeepTransformer``)."""
from . import types
from .udt import UniversalDeepTransformer

__all__ = ["types", "UniversalDeepTransformer"]
