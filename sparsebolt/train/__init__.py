"""Training and inference loops, callbacks and metrics (kept apart from the model graph)."""
from .callbacks import Callback, History
from .metrics import METRICS, make_metric

__all__ = ["Callback", "History", "METRICS", "make_metric"]
