"""The model graph: layers, losses, optimizers and the Model that ties them together."""
from ..data.value import Value
from .layers import Concatenate, Dropout, Embedding, FullyConnected, Input, LayerNorm, NumericEmbedding
from .losses import BinaryCrossEntropy, CategoricalCrossEntropy
from .model import Model
from .optimizers import SGD, Adam

__all__ = ["Concatenate", "Dropout", "Embedding", "FullyConnected", "Input", "LayerNorm", "NumericEmbedding",
           "BinaryCrossEntropy", "CategoricalCrossEntropy", "Model", "SGD", "Adam", "Value"]
