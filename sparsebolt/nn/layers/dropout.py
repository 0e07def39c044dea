"""Dropout: zeroes a random share of its input's values in training."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..._state import meta_int
from ..._validation import check_float
from ...data.value import Value
from ...kernels.random import dropout_scales, mix
from .base import Context, Layer

# mix() draws int64 in [0, 2**63)
_DRAWS = 2 ** 63


class Dropout(Layer):
    """In training, each value of the input is zeroed with probability ``rate`` and the
    others are scaled by 1 / (1 - rate) (inverted dropout); outside training the input
    passes through unchanged. A step's mask comes from the layer's seed (drawn from the
    Model's when it builds), the step's count and the value's place: the same bits on any
    number of threads, and after resuming from a checkpoint; each replica of data-parallel
    training draws its own.

    Parameters
    ----------
    rate : float in [0, 1)
        The share of values zeroed in training.
    name : str or None, default=None
        The layer's name; None numbers it when it joins a Model.
    """

    def __init__(self, rate: float, name: str | None = None) -> None:
        super().__init__(name)
        self.rate = check_float("Dropout", "rate", rate, 0.0, 1.0, high_open=True)
        self.seed = None
        self._scales = None

    def output_dim(self, input_dims: list[int]) -> int:
        return input_dims[0]

    def build(self, rng: np.random.Generator) -> None:
        self.seed = int(rng.integers(2 ** 62))

    def forward(self, inputs: list[Value], ctx: Context) -> Value:
        x = inputs[0]
        if not ctx.training or self.rate == 0.0:
            return x
        threshold = min(int(self.rate * _DRAWS), _DRAWS - 1)
        # replicas of data-parallel training draw masks of their own (replica 0 the seed's)
        seed = int(mix(self.seed, ctx.stream, 0)) if ctx.stream else self.seed
        self._scales = dropout_scales(x.vals.size, threshold, np.float32(1.0 / (1.0 - self.rate)), seed,
                                      ctx.salt).reshape(x.vals.shape)
        return Value(x.dim, x.vals * self._scales, x.ids, x.offsets)

    def backward(self, inputs: list[Value], output: Value, grad: np.ndarray, need_input_grads: list[bool],
                 ctx: Context, preactivation: bool = False) -> list[np.ndarray | None]:
        if not need_input_grads[0]:
            return [None]
        if output is inputs[0]:  # nothing was dropped
            return [grad]
        return [grad * self._scales.reshape(-1)]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "rate": self.rate}

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"seed": self.seed}, {}

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.seed = meta_int("Dropout", meta, "seed")
