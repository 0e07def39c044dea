"""sparsebolt: large sparse neural networks trained and served on CPUs through LSH."""
from . import data, distributed
from .automl import UniversalDeepTransformer, types
from ._threads import get_num_threads, set_num_threads
from .lsh import LSHConfig, autotune
from .nn import (SGD, Adam, BinaryCrossEntropy, CategoricalCrossEntropy, Concatenate, Dropout,
                 Embedding, FullyConnected, Input, LayerNorm, Model, NumericEmbedding, Value)
from .train import Callback, History
from . import io
from ._version import __version__

_threads.fit_to_usable_cpus()

__all__ = ["data", "distributed", "io", "get_num_threads", "set_num_threads", "LSHConfig", "autotune", "SGD", "Adam",
           "BinaryCrossEntropy", "CategoricalCrossEntropy", "Concatenate", "Dropout", "Embedding",
           "FullyConnected", "Input", "LayerNorm", "Model", "NumericEmbedding", "Value", "Callback", "History",
           "UniversalDeepTransformer", "types"]
