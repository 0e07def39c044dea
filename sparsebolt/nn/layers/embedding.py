"""Embedding: the first layer over a large sparse feature space."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..._state import take
from ..._threads import get_num_threads
from ..._validation import check_int
from ...data.value import Value
from ...kernels import activations as act_kernels
from ...kernels import embedding as emb
from ...kernels.grouping import group_by_id
from ..parameter import GroupedGrad, Parameter, uniform_float32
from .base import Context, Layer, activation_code


class Embedding(Layer):
    """``activation(sum_k v_k E[id_k] + b)`` over a sample's sparse ids ``id_k`` with values
    ``v_k`` (an embedding bag, i.e. a fully connected layer over a sparse input). Only the
    rows of ids present in a batch get gradients and optimizer updates.

    Parameters
    ----------
    dim : int
        Output width.
    activation : {'linear', 'relu', 'tanh', 'sigmoid', 'softmax'}, default='linear'
        Applied to each output vector.
    name : str or None, default=None
        The layer's name; None numbers it when it joins a Model.

    Raises
    ------
    ValueError
        For a ``dim`` below 1 or an unknown activation.
    """

    def __init__(self, dim: int, activation: str = "linear", name: str | None = None) -> None:
        super().__init__(name)
        self.dim = check_int("Embedding", "dim", dim, 1)
        self.activation = activation
        self._code = activation_code("Embedding", activation)

    def output_dim(self, input_dims: list[int]) -> int:
        return self.dim

    def build(self, rng: np.random.Generator) -> None:
        n_features = self.input_dims[0]
        bound = 1.0 / np.sqrt(self.dim)
        self.E = Parameter(f"{self.name}/E", uniform_float32(rng, bound, (n_features, self.dim)),
                           np.zeros(n_features, dtype=np.uint8))
        self.b = Parameter(f"{self.name}/b", np.zeros(self.dim, dtype=np.float32))

    def parameters(self) -> list[Parameter]:
        return [self.E, self.b]

    def cost(self, in_widths: list[float]) -> tuple[float, float]:
        return in_widths[0] * self.dim, float(self.dim)

    def forward(self, inputs: list[Value], ctx: Context) -> Value:
        x = inputs[0]
        if x.is_dense:
            out = x.vals @ self.E.value
            out += self.b.value
        else:
            out = np.empty((x.batch_size, self.dim), dtype=np.float32)
            (emb.embedding_forward_serial if ctx.serial else emb.embedding_forward)(
                self.E.value, self.b.value, x.offsets, x.ids, x.vals, out)
        value = Value.dense(out)
        activate = act_kernels.activate_serial if ctx.serial else act_kernels.activate
        activate(value.flat(), value.row_offsets(), self._code)
        return value

    def backward(self, inputs: list[Value], output: Value, grad: np.ndarray, need_input_grads: list[bool],
                 ctx: Context, preactivation: bool = False) -> list[np.ndarray | None]:
        x = inputs[0]
        if not preactivation:
            act_kernels.activation_backward(output.flat(), grad, output.row_offsets(), self._code)
        gz = grad.reshape(x.batch_size, self.dim)
        np.sum(gz, axis=0, out=self.b.grad)
        need_dx = need_input_grads[0]
        if x.is_dense:
            np.matmul(x.vals.T, gz, out=self.E.grad)
            self.E.touched[:] = 1
            return [(gz @ self.E.value.T).reshape(-1) if need_dx else None]
        order, group_offsets, group_ids, entry_row = group_by_id(x.offsets, x.ids, self.E.rows, get_num_threads())
        # row f's gradient is the sum of vals[k] * gz[s] over its entries k = (s, f): left to
        # the optimizer to sum and apply row by row, with no pass over a dense gradient buffer
        self.E.pending = GroupedGrad(np.ascontiguousarray(gz), entry_row, order, group_offsets, group_ids, x.vals)
        if not need_dx:
            return [None]
        dvals = np.empty(x.vals.shape[0], dtype=np.float32)
        emb.embedding_input_grad(self.E.value, x.offsets, x.ids, gz, dvals)
        return [dvals]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dim": self.dim, "activation": self.activation}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n_features = self.input_dims[0]
        self.E = Parameter(f"{self.name}/E", take("Embedding", arrays, "E", (n_features, self.dim), np.float32),
                           np.zeros(n_features, dtype=np.uint8))
        self.b = Parameter(f"{self.name}/b", take("Embedding", arrays, "b", (self.dim,), np.float32))
