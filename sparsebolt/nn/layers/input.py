"""The graph's entry point."""
from ..._validation import check_int
from .base import Layer, Node


class InputLayer(Layer):
    """Marks where a batch's features enter; holds no parameters."""

    n_inputs = 0

    def __init__(self, dim, name=None):
        super().__init__(name)
        self.dim = check_int("Input", "dim", dim, 1)
        self.input_dims = []
        self.node = Node(self, [], self.dim)

    def output_dim(self, input_dims):
        return self.dim

    def get_config(self):
        return {"name": self.name, "dim": self.dim}


def Input(dim: int, name: str | None = None) -> Node:
    """A model input of width ``dim``: sparse ids (CSR) or dense float32 vectors."""
    return InputLayer(dim, name).node
