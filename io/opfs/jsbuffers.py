"""Reusable JavaScript byte buffers and JS-error translation for the Pyodide backends.

Copying through one JS ``Uint8Array`` kept per transfer size (a page, a WAL
frame, a header) is cheaper than handing a Python buffer to JS on every call:
the engine moves a handful of distinct sizes, so a small pool covers them and
odd sizes get a fresh array. The pool is only safe because Pyodide runs
Python on one thread and every call copies its data out before returning.
"""

import js

from limbodb.errors import IOError_

# More distinct sizes than this are not kept: they are one-off transfers.
_MAX_SIZES = 8


class BufferPool:
    """One ``Uint8Array`` per transfer size, created on first use."""

    __slots__ = ("_bufs",)

    def __init__(self):
        self._bufs = {}

    def get(self, n):
        buf = self._bufs.get(n)
        if buf is None:
            buf = js.Uint8Array.new(n)
            if len(self._bufs) < _MAX_SIZES:
                self._bufs[n] = buf
        return buf

    def load(self, data):
        """A pooled array holding a copy of ``data`` (bytes, bytearray or memoryview)."""
        buf = self.get(len(data))
        buf.assign(data)
        return buf


def read_result(buf, n):
    """The first ``n`` bytes of ``buf`` as Python bytes (a read may stop short at end of file)."""
    if n == buf.length:
        return buf.to_bytes()
    return buf.subarray(0, n).to_bytes()


def fail(c, code, path, err):
    """Finish completion ``c`` with SQLite's I/O error for JS exception ``err``; return ``c``."""
    e = IOError_("disk I/O error", code, op=c.op, offset=c.offset, path=path)
    e.__cause__ = err
    c.fail(e)
    return c
