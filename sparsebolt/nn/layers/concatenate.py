"""Concatenate: joins several inputs side by side."""
from __future__ import annotations

import numpy as np

from ...data.value import Value
from .base import Context, Layer, dense_view, grad_for


class Concatenate(Layer):
    """The inputs' vectors joined end to end into one dense vector (sparse inputs are
    scattered into their dense form first). Call it on two or more Nodes.

    Parameters
    ----------
    name : str or None, default=None
        The layer's name; None numbers it when it joins a Model.
    """

    n_inputs = None

    def output_dim(self, input_dims: list[int]) -> int:
        if len(input_dims) < 2:
            raise ValueError(f"The 'inputs' parameter of Concatenate '{self.name}' must be at least 2 nodes. Got "
                             f"{len(input_dims)} instead.")
        return int(sum(input_dims))

    def cost(self, in_widths: list[float]) -> tuple[float, float]:
        return float(sum(in_widths)), float(sum(in_widths))

    def forward(self, inputs: list[Value], ctx: Context) -> Value:
        return Value.dense(np.concatenate([dense_view(x) for x in inputs], axis=1))

    def backward(self, inputs: list[Value], output: Value, grad: np.ndarray, need_input_grads: list[bool],
                 ctx: Context, preactivation: bool = False) -> list[np.ndarray | None]:
        g = grad.reshape(output.batch_size, output.dim)
        out, lo = [], 0
        for x, need in zip(inputs, need_input_grads):
            out.append(grad_for(x, g[:, lo:lo + x.dim]) if need else None)
            lo += x.dim
        return out
