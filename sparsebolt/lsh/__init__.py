"""Locality-sensitive hashing over a layer's neurons: hash families, tables, the index
that picks each sample's active neurons, and the autotuner for its settings."""
from .config import LSHConfig, autotune, default_sparsity
from .hash_functions import DWTA, SRP, FastSRP, HASH_FAMILIES, SparseWTA, make_hash_function
from .index import NeuronIndex
from .tables import HashTables

__all__ = ["DWTA", "SRP", "FastSRP", "SparseWTA", "HASH_FAMILIES", "make_hash_function", "HashTables",
           "NeuronIndex", "LSHConfig", "autotune", "default_sparsity"]
