"""Choosing the file backend: io_uring where the kernel allows it, else BlockingIO.

``choose_io(kind)`` takes ``"uring" | "blocking" | "auto"``; when ``kind`` is
None or ``"auto"`` the ``LIMBODB_IO`` environment variable may force either.
The ring comes from the PyPI ``liburing`` package where it imports (the
``limbodb[uring]`` extra), else from the ctypes driver on x86-64 Linux. When
io_uring cannot be used (not Linux, ``/proc/sys/kernel/io_uring_disabled`` set,
neither binding usable on this machine, or io_uring_setup refused, e.g. ENOSYS
on old kernels or EPERM under seccomp) it falls back to BlockingIO and logs
why on the ``limbodb.io`` logger (a warning when io_uring was asked for by
name, info under ``auto``). Imports nothing Linux-specific until called, so it
loads under Pyodide.
"""

import logging
import os
import platform
import sys

from limbodb.io.blocking import BlockingIO

ENV_VAR = "LIMBODB_IO"
KINDS = ("auto", "uring", "blocking")
DISABLED_KNOB = "/proc/sys/kernel/io_uring_disabled"

log = logging.getLogger("limbodb.io")


def liburing_available():
    """True if the optional ``liburing`` package imports."""
    try:
        import liburing  # noqa: F401
    except ImportError:
        return False
    return True


def environment_reason(binding=None):
    """Why io_uring cannot be used here before trying it, or None.

    ``binding`` is ``"ctypes"``, ``"liburing"`` or None (liburing if it imports).
    """
    if sys.platform != "linux":
        return f"io_uring needs Linux, this is {sys.platform}"
    try:
        with open(DISABLED_KNOB) as f:
            knob = f.read().strip()
    except OSError:
        knob = "0"  # kernels before 6.6 have no knob
    if knob != "0":
        return f"io_uring is disabled ({DISABLED_KNOB} = {knob})"
    if binding is None:
        binding = "liburing" if liburing_available() else "ctypes"
    if binding == "liburing" and not liburing_available():
        return "the liburing package is not installed"
    if binding == "ctypes" and platform.machine() != "x86_64":
        return f"the liburing package is not installed and the ctypes driver is x86-64 only (this is {platform.machine()})"
    return None


def new_ring(entries=256, binding=None):
    """A ring from liburing if it imports (or ``binding`` says so), else the ctypes driver.

    Raises OSError if io_uring_setup fails.
    """
    if binding == "liburing" or (binding is None and liburing_available()):
        from limbodb.io.uring.liburing_ring import LiburingRing
        return LiburingRing(entries)
    from limbodb.io.uring.ring import Ring
    return Ring(entries)


def open_uring(entries=256, binding=None):
    """A UringIO, or a reason string saying why io_uring cannot be used."""
    reason = environment_reason(binding)
    if reason is not None:
        return reason
    try:
        ring = new_ring(entries, binding)
    except OSError as e:
        return f"io_uring_setup failed: {os.strerror(e.errno) if e.errno else e} (errno {e.errno})"
    from limbodb.io.uring.backend import UringIO
    return UringIO(ring=ring)


def uring_unavailable_reason(binding=None):
    """Why io_uring (over ``binding``) cannot be used on this machine, or None (tries a ring)."""
    io = open_uring(8, binding)
    if isinstance(io, str):
        return io
    io.close()
    return None


_shared = None


def shared_uring():
    """The process's UringIO (created on first use), or a reason string.

    One ring serves every connection: the storage layer shares one Database
    per real file among all connections using the same backend class, and its
    files stay bound to the first opener's UringIO, so a second ring would
    never see their completions. Use it from one thread (or one event loop).
    """
    global _shared
    if _shared is None or _shared.ring is None:
        io = open_uring()
        if isinstance(io, str):
            return io
        _shared = io
    return _shared


def choose_io(kind=None):
    """The I/O backend for ``kind``: the shared UringIO, or BlockingIO with a logged reason."""
    if kind is None or kind == "auto":
        kind = os.environ.get(ENV_VAR) or "auto"
        source = f"{ENV_VAR}={kind}" if kind != "auto" else "auto"
    else:
        source = f"io={kind!r}"
    if kind not in KINDS:
        raise ValueError(f"unknown I/O backend {kind!r} ({source}); expected one of {', '.join(KINDS)}")
    if kind == "blocking":
        return shared_blocking()
    io = shared_uring()
    if isinstance(io, str):
        log.log(logging.WARNING if kind == "uring" else logging.INFO,
                "limbodb: using BlockingIO, not io_uring (%s): %s", source, io)
        return shared_blocking()
    return io


_shared_blocking = None


def shared_blocking():
    """The process's one BlockingIO, shared for the same reason as the ring."""
    global _shared_blocking
    if _shared_blocking is None:
        _shared_blocking = BlockingIO()
    return _shared_blocking


def resolve_io(path, io):
    """The backend for ``connect(path, io=...)``: None for ``:memory:`` (the engine's
    MemoryIO), ``choose_io(io)`` for None or a kind name, else ``io`` itself."""
    if io is None or isinstance(io, str):
        return None if path == ":memory:" else choose_io(io)
    return io
