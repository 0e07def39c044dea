"""Concatenate: joins several inputs side by side."""
import numpy as np

from ...data.value import Value
from .base import Layer, dense_view, grad_for


class Concatenate(Layer):
    """The inputs' vectors joined end to end into one dense vector (sparse inputs are
    scattered into their dense form first)."""

    n_inputs = None

    def output_dim(self, input_dims):
        if len(input_dims) < 2:
            raise ValueError(f"Concatenate '{self.name}' takes at least 2 inputs. Got {len(input_dims)}.")
        return int(sum(input_dims))

    def forward(self, inputs, ctx):
        return Value.dense(np.concatenate([dense_view(x) for x in inputs], axis=1))

    def backward(self, inputs, output, grad, need_input_grads, ctx, preactivation=False):
        g = grad.reshape(output.batch_size, output.dim)
        out, lo = [], 0
        for x, need in zip(inputs, need_input_grads):
            out.append(grad_for(x, g[:, lo:lo + x.dim]) if need else None)
            lo += x.dim
        return out
