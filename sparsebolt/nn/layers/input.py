"""The graph's entry point."""
from __future__ import annotations

from typing import Any

from ..._validation import check_int
from .base import Layer, Node


class InputLayer(Layer):
    """Marks where a batch's features enter; holds no parameters."""

    n_inputs = 0

    def __init__(self, dim: int, name: str | None = None) -> None:
        super().__init__(name)
        self.dim = check_int("Input", "dim", dim, 1)
        self.input_dims = []
        self.node = Node(self, [], self.dim)

    def output_dim(self, input_dims: list[int]) -> int:
        return self.dim

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim}


def Input(dim: int, name: str | None = None) -> Node:
    """A model input of width ``dim``, which takes sparse ids (CSR) or dense float32
    vectors.

    Parameters
    ----------
    dim : int
        The input's width (feature ids must be below it).
    name : str or None, default=None
        The input's name; None numbers it when it joins a Model.

    Returns
    -------
    Node
        The symbolic input, to call layers on and to pass to ``Model(inputs=...)``.

    Raises
    ------
    ValueError
        For a ``dim`` below 1 or an empty name.
    """
    return InputLayer(dim, name).node
