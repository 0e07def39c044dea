"""An HTTP prediction server for a trained model (FastAPI on uvicorn; ``pip install
'sparsebolt[serve]'``). Its endpoints::

    POST /predict   {"ids": [...], "values": [...], "top_k": 5}          one sample (an sb.Model)
                    {"samples": [{"ids": [...], "values": [...]}, ...]}  a batch
                    -> {"ids": [...], "scores": [...]} or {"predictions": [...]}
    POST /predict   {"row": {"title": "...", "price": 12.5}, "top_k": 5}   one row (a
                    {"rows": [{...}, ...]}                               UniversalDeepTransformer)
                    -> {"labels": [...], "scores": [...]} or {"predictions": [...]}
    POST /update    {"rows": [{"user": ..., "item": ..., "time": ...}]}  record interactions
                    (a UniversalDeepTransformer with temporal tracking); with
                    "refresh_neighbors": true, then work out its item neighbors again
    GET  /health    {"status": "ok"}
    GET  /model     what the model is: layers, sizes, hash settings, limits (the file's
                    name, not its path)
    GET  /docs, /redoc, /openapi.json   FastAPI's interactive documentation of the above

A row names columns of the model: an unknown column, the target, a value of the wrong
type, or a missing column gets 422 naming it (null is a missing value; columns the model
can look up itself, tracked items, neighbors and the clock of temporal tracking, may be
left out). A malformed request gets 422 with the failing field's location; a body over
``max_body_bytes`` gets 413 (also when sent chunked, without a Content-Length). A client that
has not sent its whole request ``request_timeout`` seconds (default 30) after its first byte
is disconnected, so slow senders cannot hold connections open.

All requests share one model, loaded read-only in spirit (memory-mapped copy-on-write, so
nothing can reach the file). Prediction changes no model state except scratch: sparse
inference counts neurons in per-thread scratch rows owned by the hash tables and clears them
before its kernel returns. The kernels hold the GIL, so two requests never run them at
once, but ``Predictor`` also takes a lock around the model so that this stays true if a
kernel ever releases the GIL; a batch request uses every kernel thread anyway, so little
is lost by serialising.
"""
from .app import create_app, run

__all__ = ["create_app", "run"]
