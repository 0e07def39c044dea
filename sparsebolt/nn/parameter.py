"""A trainable array with its gradient and the rows that received one."""
import numpy as np


class Parameter:
    """``value`` and its dense ``grad`` buffer. ``touched : uint8[rows]`` flags the rows a
    sparse backward pass wrote (it may be shared, e.g. by a layer's weights and biases);
    when ``touched`` is None every row gets a gradient each batch."""

    def __init__(self, name, value, touched=None):
        self.name = name
        self.value = value
        self.grad = np.zeros_like(value)
        self.touched = touched

    @property
    def rows(self):
        return self.value.shape[0]
