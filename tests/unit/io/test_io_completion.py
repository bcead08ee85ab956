"""Completion, CompletionGroup, the IO marker and run_sync."""

import pytest

from limbodb.errors import IOError_, InternalError, OperationalError, SQLITE_INTERRUPT, SQLITE_IOERR_READ
from limbodb.io import Completion, CompletionGroup, MemoryIO, io_yield_many, io_yield_one, is_io, run_sync
from limbodb.io.completion import IO
from limbodb.io.sim import SimulatedIO


def _recorder():
    calls = []
    return calls, calls.append


def _ioerr(offset=0):
    return IOError_("disk I/O error", SQLITE_IOERR_READ, op="read", offset=offset)


def test_callback_runs_exactly_once_when_completed():
    calls, cb = _recorder()
    c = Completion("read", 0, callback=cb)
    assert not c.finished() and calls == []
    c.complete(b"x")
    assert calls == [c]
    assert c.finished() and c.succeeded() and c.result == b"x" and c.error() is None


def test_callback_added_after_finishing_runs_at_once_and_once_only():
    c = Completion("write", 8)
    c.complete(3)
    calls, cb = _recorder()
    c.add_callback(cb)
    assert calls == [c]
    c.cancel()
    assert calls == [c]


def test_several_callbacks_run_once_each_in_order():
    order = []
    c = Completion("sync")
    for i in range(3):
        c.add_callback(lambda _c, i=i: order.append(i))
    c.fail(_ioerr())
    c.cancel()
    assert order == [0, 1, 2]


def test_callback_added_from_a_callback_runs_once():
    order = []
    c = Completion("read")
    c.add_callback(lambda x: x.add_callback(lambda _: order.append("inner")))
    c.complete(b"")
    assert order == ["inner"]


@pytest.mark.parametrize("first", ["complete", "fail"])
@pytest.mark.parametrize("second", ["complete", "fail"])
def test_finishing_twice_raises_internal_error(first, second):
    c = Completion("read", 4096)
    calls, cb = _recorder()
    c.add_callback(cb)
    getattr(c, first)(b"a" if first == "complete" else _ioerr())
    with pytest.raises(InternalError):
        getattr(c, second)(b"b" if second == "complete" else _ioerr())
    assert len(calls) == 1
    assert c.succeeded() == (first == "complete")


def test_failed_completion_carries_its_error():
    err = _ioerr(4096)
    c = Completion("read", 4096)
    c.fail(err)
    assert c.finished() and not c.succeeded() and c.error() is err
    with pytest.raises(IOError_) as e:
        c.raise_if_failed()
    assert e.value is err and e.value.offset == 4096 and e.value.op == "read"


def test_cancel_fails_a_pending_completion_with_interrupt():
    calls, cb = _recorder()
    c = Completion("read", 0, callback=cb)
    c.cancel()
    assert c.finished() and not c.succeeded()
    assert isinstance(c.error(), OperationalError)
    assert c.error().sqlite_errorcode == SQLITE_INTERRUPT
    c.cancel()
    assert calls == [c]


def test_cancel_after_success_changes_nothing():
    c = Completion("read")
    c.complete(b"data")
    c.cancel()
    assert c.succeeded() and c.result == b"data" and c.error() is None


def test_group_succeeds_with_results_in_member_order():
    a, b, c = Completion("read"), Completion("write"), Completion("sync")
    done = CompletionGroup([a, b, c]).build()
    b.complete(5)
    c.complete(None)
    assert not done.finished()
    a.complete(b"aa")
    assert done.succeeded() and done.result == [b"aa", 5, None]


def test_group_fails_at_the_first_error_and_cancels_the_rest():
    a, b, c = Completion("read"), Completion("read"), Completion("read")
    done = CompletionGroup([a, b, c]).build()
    a.complete(b"ok")
    err = _ioerr(512)
    b.fail(err)
    assert done.finished() and done.error() is err
    assert c.finished() and c.error().sqlite_errorcode == SQLITE_INTERRUPT
    assert a.succeeded()


def test_group_of_members_already_finished():
    a, b = Completion("read"), Completion("read")
    a.complete(1)
    b.complete(2)
    assert CompletionGroup([a, b]).build().result == [1, 2]
    x, y = Completion("read"), Completion("read")
    err = _ioerr()
    x.fail(err)
    done = CompletionGroup([x, y]).build()
    assert done.error() is err and y.error().sqlite_errorcode == SQLITE_INTERRUPT


def test_empty_group_succeeds_at_once():
    done = CompletionGroup().build()
    assert done.succeeded() and done.result == []


def test_build_is_idempotent_and_adding_after_build_raises():
    g = CompletionGroup([Completion("read")])
    assert g.build() is g.build()
    with pytest.raises(InternalError):
        g.add(Completion("read"))


def test_nested_groups_give_nested_results():
    a, b, c = Completion("read"), Completion("read"), Completion("read")
    inner = CompletionGroup([b, c])
    outer = CompletionGroup([a, inner])
    done = outer.build()
    c.complete(3)
    a.complete(1)
    assert not done.finished()
    b.complete(2)
    assert done.result == [1, [2, 3]]


def test_error_in_a_nested_group_fails_the_outer_group_and_cancels_everything():
    a, b, c = Completion("read"), Completion("read"), Completion("read")
    done = CompletionGroup([a, CompletionGroup([b, c])]).build()
    err = _ioerr()
    b.fail(err)
    assert done.error() is err
    assert a.error().sqlite_errorcode == SQLITE_INTERRUPT
    assert c.error().sqlite_errorcode == SQLITE_INTERRUPT


def test_cancelling_the_outer_group_cancels_members_of_inner_groups():
    a, b = Completion("read"), Completion("read")
    g = CompletionGroup([a, CompletionGroup([b])])
    done = g.build()
    g.cancel()
    for x in (done, a, b):
        assert x.error().sqlite_errorcode == SQLITE_INTERRUPT


def test_cancel_before_build_fails_the_group_when_built():
    a = Completion("read")
    g = CompletionGroup([a])
    g.cancel()
    assert a.error().sqlite_errorcode == SQLITE_INTERRUPT
    assert g.build().error().sqlite_errorcode == SQLITE_INTERRUPT


def test_io_marker_helpers():
    c = Completion("read")
    r = io_yield_one(c)
    assert r.__class__ is IO and r.completion is c and is_io(r)
    assert not is_io(b"page") and not is_io(None)
    a, b = Completion("read"), Completion("read")
    m = io_yield_many([a, b])
    a.complete(1)
    b.complete(2)
    assert m.completion.result == [1, 2]


class _ReadState:
    __slots__ = ("completion", "calls")

    def __init__(self):
        self.completion = None
        self.calls = 0


def _read_two_bytes(f, state):
    """Re-entrant: the file's first two bytes (the pending read lives in ``state``)."""
    state.calls += 1
    if state.completion is None:
        state.completion = f.pread(0, 2)
    c = state.completion
    if not c.finished():
        return io_yield_one(c)
    return c.raise_if_failed()


@pytest.mark.parametrize("make_io", [MemoryIO, lambda: SimulatedIO(seed=3)], ids=["memory", "sim"])
def test_run_sync_calls_again_until_a_value(make_io):
    io = make_io()
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, b"ok!"))
    state = _ReadState()
    assert run_sync(io, _read_two_bytes, f, state) == b"ok"
    assert state.calls == (1 if isinstance(io, MemoryIO) else 2)


def test_run_sync_leaves_the_error_to_the_resumed_function():
    io = SimulatedIO(seed=1, fail_at={1: "error"})
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, b"ab"))
    state = _ReadState()
    with pytest.raises(IOError_) as e:
        run_sync(io, _read_two_bytes, f, state)
    assert state.calls == 2 and e.value.op == "read" and e.value.sqlite_errorcode == SQLITE_IOERR_READ
