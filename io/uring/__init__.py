"""limbodb.io.uring: the Linux io_uring backend and the choice of file backend.

``choose_io("uring" | "blocking" | "auto")`` (choose.py) returns the shared UringIO
(backend.py, over the ctypes driver in ring.py or the liburing package) or
BlockingIO with a logged reason. ``UringIO`` and ``UringFile`` are imported
lazily, so importing this package loads nothing Linux-specific (Pyodide).
"""

from limbodb.io.uring.choose import ENV_VAR, choose_io, open_uring, resolve_io, shared_uring

__all__ = ["choose_io", "resolve_io", "open_uring", "shared_uring", "ENV_VAR", "UringIO", "UringFile"]


def __getattr__(name):
    if name in ("UringIO", "UringFile"):
        from limbodb.io.uring import backend
        return getattr(backend, name)
    raise AttributeError(f"module 'limbodb.io.uring' has no attribute {name!r}")
