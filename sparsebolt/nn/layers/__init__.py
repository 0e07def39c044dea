from .base import ACTIVATIONS, Context, Layer, Node
from .concatenate import Concatenate
from .dropout import Dropout
from .embedding import Embedding, NumericEmbedding
from .fully_connected import FullyConnected
from .input import Input, InputLayer
from .layer_norm import LayerNorm

__all__ = ["ACTIVATIONS", "Context", "Layer", "Node", "Concatenate", "Dropout", "Embedding",
           "FullyConnected", "Input", "InputLayer", "LayerNorm", "NumericEmbedding"]
