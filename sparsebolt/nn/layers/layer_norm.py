"""LayerNorm over each sample's vector."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..._state import take
from ..._validation import check_float
from ...data.value import Value
from ..parameter import Parameter
from .base import Context, Layer, dense_view, grad_for


class LayerNorm(Layer):
    """``gamma * (x - mean) / sqrt(var + eps) + beta`` per sample, statistics over the
    whole vector (a sparse input counts its absent entries as zeros). The output is dense.

    Parameters
    ----------
    eps : float, default=1e-5
        Added to the variance, > 0.
    name : str or None, default=None
        The layer's name; None numbers it when it joins a Model.
    """

    def __init__(self, eps: float = 1e-5, name: str | None = None) -> None:
        super().__init__(name)
        self.eps = check_float("LayerNorm", "eps", eps, 0.0, low_open=True)

    def output_dim(self, input_dims: list[int]) -> int:
        return input_dims[0]

    def build(self, rng: np.random.Generator) -> None:
        d = self.input_dims[0]
        self.gamma = Parameter(f"{self.name}/gamma", np.ones(d, dtype=np.float32))
        self.beta = Parameter(f"{self.name}/beta", np.zeros(d, dtype=np.float32))

    def parameters(self) -> list[Parameter]:
        return [self.gamma, self.beta]

    def forward(self, inputs: list[Value], ctx: Context) -> Value:
        x = dense_view(inputs[0])
        mean = x.mean(axis=1, keepdims=True)
        centred = x - mean
        inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=1, keepdims=True) + np.float32(self.eps))
        self._xhat = (centred * inv_std).astype(np.float32)
        self._inv_std = inv_std.astype(np.float32)
        return Value.dense(self._xhat * self.gamma.value + self.beta.value)

    def backward(self, inputs: list[Value], output: Value, grad: np.ndarray, need_input_grads: list[bool],
                 ctx: Context, preactivation: bool = False) -> list[np.ndarray | None]:
        g = grad.reshape(output.batch_size, output.dim)
        xhat = self._xhat
        np.sum(g * xhat, axis=0, out=self.gamma.grad)
        np.sum(g, axis=0, out=self.beta.grad)
        if not need_input_grads[0]:
            return [None]
        gx = g * self.gamma.value
        dx = self._inv_std * (gx - gx.mean(axis=1, keepdims=True)
                              - xhat * (gx * xhat).mean(axis=1, keepdims=True))
        return [grad_for(inputs[0], dx.astype(np.float32))]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "eps": self.eps}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        d = self.input_dims[0]
        self.gamma = Parameter(f"{self.name}/gamma", take("LayerNorm", arrays, "gamma", (d,), np.float32))
        self.beta = Parameter(f"{self.name}/beta", take("LayerNorm", arrays, "beta", (d,), np.float32))
