"""Losses: each pairs with an output activation and returns dL/d(pre-activation) directly."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_float
from ..kernels import losses as loss_kernels

if TYPE_CHECKING:
    from ..data.batch import Labels
    from ..data.value import Value


class Loss:
    """Base class of the losses: ``loss(output, labels)`` is (mean loss, dL/dz)."""

    activation = ""
    name = ""
    # softmax cross-entropy: a sparse output layer may fuse its input gradient into the forward pass
    softmax_ce = False

    def __call__(self, output: Value, labels: Labels) -> tuple[float, np.ndarray]:
        """output : Value of activations; labels : Labels. -> (mean loss, dz : float32[nnz])"""
        dz = np.empty(output.vals.size, dtype=np.float32)
        out_ids = output.ids if output.ids is not None else np.zeros(0, dtype=np.int32)
        loss = self._kernel(output.flat(), output.row_offsets(), out_ids, output.is_dense,
                            labels.offsets, labels.ids, labels.vals, dz, *self._kernel_params())
        return float(loss), dz

    def _kernel_params(self) -> tuple:
        """The kernel's arguments after ``dz``: the loss's own settings."""
        return ()

    def get_config(self) -> dict[str, Any]:
        """The loss's name, JSON-able (a model file rebuilds the loss from it).

        Returns
        -------
        dict
        """
        return {"name": self.name}


class CategoricalCrossEntropy(Loss):
    """Softmax cross-entropy; a sample's labels share its target mass (1/k each for k
    labels, or in proportion to label values). Over a sparse output the softmax runs over
    the sample's active neurons, which in training always include its labels. Pairs with
    a softmax output (``loss='categorical_cross_entropy'`` names it with no smoothing).

    Parameters
    ----------
    label_smoothing : float in [0, 1), default=0.0
        The share of each sample's target spread evenly over the outputs computed for it
        (all of a dense output, the active ones of a sparse one), as Keras' ``label_smoothing``.
    """

    activation = "softmax"
    name = "categorical_cross_entropy"
    _kernel = staticmethod(loss_kernels.softmax_cross_entropy)

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.label_smoothing = check_float("CategoricalCrossEntropy", "label_smoothing", label_smoothing, 0.0, 1.0,
                                           high_open=True)

    @property
    def softmax_ce(self) -> bool:
        """Whether a sparse output layer may fuse its input gradient into the forward pass:
        only without smoothing, which the fused kernel does not know."""
        return self.label_smoothing == 0.0

    def _kernel_params(self) -> tuple:
        return (np.float32(self.label_smoothing),)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.label_smoothing:  # files of a loss without it stay as they were
            config["label_smoothing"] = self.label_smoothing
        return config


class BinaryCrossEntropy(Loss):
    """Sigmoid binary cross-entropy per output neuron, summed over a sample's outputs;
    a label's value is its target (1 by default), all other outputs have target 0. Pairs
    with a sigmoid output; no parameters (``loss='binary_cross_entropy'`` names it).
    """

    activation = "sigmoid"
    name = "binary_cross_entropy"
    _kernel = staticmethod(loss_kernels.sigmoid_binary_cross_entropy)


LOSSES = {cls.name: cls for cls in (CategoricalCrossEntropy, BinaryCrossEntropy)}
