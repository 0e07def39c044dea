"""sparsebolt: large sparse neural networks trained and served on CPUs through LSH."""
import os

# Before numba starts its OpenMP pool (kernels/__init__.py): idle OpenMP workers that spin
# take the cores from BLAS's threads and from other jobs. Sleeping instead measured the same
# on make demo (167.4 s of training against 168.1 s, idle) and 2.5x faster on a small UDT fit
# (1.7-2.0 s against 4.0-5.1 s idle; 24.8 s against 59.0 s at load 8-10). A value set by the
# user is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import data, distributed
from .automl import UniversalDeepTransformer, types
from ._threads import get_num_threads, set_num_threads
from .lsh import LSHConfig, autotune
from .nn import (SGD, Adam, BinaryCrossEntropy, CategoricalCrossEntropy, Concatenate, Embedding,
                 FullyConnected, Input, LayerNorm, Model, Value)
from .train import Callback, History
from . import io
from ._version import __version__

__all__ = ["data", "distributed", "io", "get_num_threads", "set_num_threads", "LSHConfig", "autotune", "SGD", "Adam",
           "BinaryCrossEntropy", "CategoricalCrossEntropy", "Concatenate", "Embedding",
           "FullyConnected", "Input", "LayerNorm", "Model", "Value", "Callback", "History",
           "UniversalDeepTransformer", "types"]
