"""Completions, completion groups and the IOResult convention.

A ``Completion`` is one in-flight I/O operation. Only a backend finishes it
(``complete`` or ``fail``), exactly once; a second finish raises InternalError,
as asyncio's InvalidStateError does. Its callback runs exactly once, when it
finishes (or at once if it already has). ``cancel()`` finishes it with an
``OperationalError("interrupted")`` unless it already finished.

``IOResult[T]`` is ``T | IO``: a function that may wait returns its value
itself, or an ``IO`` marker holding the completion it waits on. The done path
allocates nothing. Propagation is one line::

    r = pager.read_page(pgno)
    if r.__class__ is IO:
        return r

Mirrors Turso core/io/completions.rs and core/types.rs (IOResult, return_if_io!).
"""

from typing import TypeVar, Union

from limbodb.errors import InternalError, OperationalError, SQLITE_INTERRUPT

T = TypeVar("T")

_PENDING = 0
_DONE = 1
_FAILED = 2


class Completion:
    """One in-flight operation: finished/succeeded/error/result and one callback."""

    __slots__ = ("_state", "_error", "result", "_callbacks", "op", "offset", "__weakref__")

    def __init__(self, op="", offset=None, callback=None):
        self._state = _PENDING
        self._error = None
        self.result = None
        self._callbacks = callback
        self.op = op
        self.offset = offset

    def finished(self):
        return self._state != _PENDING

    def succeeded(self):
        return self._state == _DONE

    def error(self):
        return self._error

    def add_callback(self, fn):
        """Run ``fn(completion)`` once when finished (at once if already finished)."""
        if self._state != _PENDING:
            fn(self)
            return
        cbs = self._callbacks
        if cbs is None:
            self._callbacks = fn
        elif isinstance(cbs, list):
            cbs.append(fn)
        else:
            self._callbacks = [cbs, fn]

    def complete(self, result=None):
        """Backends only: finish successfully with ``result``."""
        if self._state != _PENDING:
            raise InternalError(f"completion {self.op!r} finished twice")
        self.result = result
        self._state = _DONE
        self._run_callbacks()

    def fail(self, error):
        """Backends only: finish with ``error`` (an Exception)."""
        if self._state != _PENDING:
            raise InternalError(f"completion {self.op!r} finished twice")
        self._error = error
        self._state = _FAILED
        self._run_callbacks()

    def cancel(self):
        """Finish with an interrupt error if still pending; no effect otherwise."""
        if self._state == _PENDING:
            self.fail(OperationalError("interrupted", SQLITE_INTERRUPT))

    def _run_callbacks(self):
        cbs = self._callbacks
        if cbs is None:
            return
        self._callbacks = None
        if isinstance(cbs, list):
            for fn in cbs:
                fn(self)
        else:
            cbs(self)

    def raise_if_failed(self):
        """Raise the completion's error, if it has one; return its result."""
        if self._error is not None:
            raise self._error
        return self.result

    def __repr__(self):
        state = ("pending", "done", "failed")[self._state]
        return f"<Completion {self.op} offset={self.offset} {state}>"


class CompletionGroup:
    """Aggregate completions (or other groups) into one completion.

    ``build()`` returns a completion that succeeds when every member has
    succeeded, and fails at the first member error, cancelling the rest.
    Groups nest: a group's built completion may be added to another group.
    """

    __slots__ = ("_members", "_outstanding", "_built")

    def __init__(self, members=()):
        self._members = []
        self._outstanding = 0
        self._built = None
        for m in members:
            self.add(m)

    def add(self, member):
        if self._built is not None:
            raise InternalError("completion group already built")
        if isinstance(member, CompletionGroup):
            member = member.build()
        self._members.append(member)

    def build(self):
        if self._built is not None:
            return self._built
        c = self._built = Completion("group")
        members = self._members
        if not members:
            c.complete([])
            return c
        self._outstanding = len(members)
        # However the group fails (a member's error, or its completion being
        # cancelled by an enclosing group), the unfinished members are cancelled.
        c.add_callback(self._group_done)
        for m in members:
            m.add_callback(self._member_done)
        return c

    def _member_done(self, m):
        c = self._built
        if c.finished():
            return
        if m.error() is not None:
            c.fail(m.error())
            return
        self._outstanding -= 1
        if self._outstanding == 0:
            c.complete([x.result for x in self._members])

    def _group_done(self, c):
        if c.error() is not None:
            for m in self._members:
                m.cancel()

    def cancel(self):
        """Cancel every member that has not finished (and the group itself)."""
        if self._built is not None:
            self._built.cancel()  # its _group_done cancels the members
        else:
            for m in self._members:
                m.cancel()


class IO:
    """The "waiting" half of IOResult: holds the completion to wait for."""

    __slots__ = ("completion",)

    def __init__(self, completion):
        self.completion = completion

    def __repr__(self):
        return f"IO({self.completion!r})"


IOResult = Union[T, IO]


def io_yield_one(completion):
    """Return-value form of Turso's io_yield_one!: wait on one completion."""
    return IO(completion)


def io_yield_many(completions):
    """Wait on several completions at once (one group)."""
    return IO(CompletionGroup(completions).build())


def is_io(result):
    """True if ``result`` is the waiting marker (the one-line check is ``r.__class__ is IO``)."""
    return result.__class__ is IO


def run_sync(io, fn, *args):
    """Call re-entrant ``fn(*args)`` until it returns a value, waiting on ``io`` between calls.

    The completion's error is not raised here: ``fn`` sees it when called
    again and decides (a pager enters its error state, a read raises).
    For dbapi and tests only: the engine itself never waits.
    """
    while True:
        r = fn(*args)
        if r.__class__ is not IO:
            return r
        c = r.completion
        while not c.finished():
            io.run_once()
