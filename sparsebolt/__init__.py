"""sparsebolt: large sparse neural networks trained and served on CPUs through LSH."""
from . import data, distributed
from .automl import UniversalDeepTransformer, types
from ._threads import get_num_threads, set_num_threads
from .lsh import LSHConfig, autotune
from .nn import (SGD, Adam, BinaryCrossEntropy, CategoricalCrossEntropy, Concatenate, Embedding,
                 FullyConnected, Input, LayerNorm, Model, Value)
from .train import Callback, History
from . import io  # after nn: it rebuilds models from their config

__version__ = "0.1.0"

__all__ = ["data", "distributed", "io", "get_num_threads", "set_num_threads", "LSHConfig", "autotune", "SGD", "Adam",
           "BinaryCrossEntropy", "CategoricalCrossEntropy", "Concatenate", "Embedding",
           "FullyConnected", "Input", "LayerNorm", "Model", "Value", "Callback", "History",
           "UniversalDeepTransformer", "types"]
