"""Pager savepoints: ROLLBACK TO restores every page, the database size and the header; RELEASE keeps."""

from hypothesis import given, settings, strategies as st

from limbodb.io import MemoryIO
from limbodb.storage.btree import BTreeCursor, create_btree
from limbodb.storage.integrity import integrity_check
from limbodb.storage.record import encode_record

from .pager_util import drive, open_pager


def _new_pager():
    io = MemoryIO()
    pager = open_pager(io, "sp.db")
    drive(io, pager.begin_write_tx)
    return io, pager


def _rows(io, pager, root):
    cur = BTreeCursor(pager, root)
    out = {}
    ok = drive(io, cur.first)
    while ok:
        out[cur.rowid()] = bytes(drive(io, cur.payload))
        ok = drive(io, cur.next)
    return out


def _state(io, pager, root):
    return _rows(io, pager, root), pager.db_size, pager.header_field("freelist_count")


def test_rollback_to_restores_pages_size_and_freelist():
    io, pager = _new_pager()
    root = drive(io, create_btree, pager, False)
    cur = BTreeCursor(pager, root)
    for i in range(200):
        drive(io, cur.insert, i, encode_record([i, "x" * 300]))
    before = _state(io, pager, root)
    sp = pager.open_savepoint()
    for i in range(0, 200, 2):
        drive(io, cur.seek, i, 0)
        drive(io, cur.delete)
    for i in range(1000, 1100):
        drive(io, cur.insert, i, encode_record([i, "y" * 900]))
    assert _state(io, pager, root) != before
    pager.rollback_to_savepoint(sp)
    assert _state(io, pager, root) == before
    assert drive(io, integrity_check, pager, [1, root]) == ["ok"]
    # The savepoint stays open: a second rollback to it undoes the newer work too.
    drive(io, BTreeCursor(pager, root).insert, 5000, encode_record([1]))
    pager.rollback_to_savepoint(sp)
    assert _state(io, pager, root) == before
    pager.release_savepoint(sp)
    assert pager.savepoints == []


_STEP = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 300), st.integers(0, 6000)),
    st.tuples(st.just("delete"), st.integers(0, 300), st.just(0)),
    st.tuples(st.just("open"), st.just(0), st.just(0)),
    st.tuples(st.just("rollback"), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("release"), st.integers(0, 5), st.just(0)),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_STEP, max_size=40))
def test_random_savepoint_operations_match_a_model(steps):
    io, pager = _new_pager()
    root = drive(io, create_btree, pager, False)
    model = {}
    stack = []          # (savepoint, copy of the model, db_size) when each opened
    for op, a, b in steps:
        cur = BTreeCursor(pager, root)
        if op == "insert":
            payload = encode_record([a, "z" * b])
            drive(io, cur.insert, a, payload)
            model[a] = payload
        elif op == "delete":
            if drive(io, cur.seek, a, 0):
                drive(io, cur.delete)
            model.pop(a, None)
        elif op == "open":
            stack.append((pager.open_savepoint(), dict(model), pager.db_size))
        elif stack:
            k = a % len(stack)
            sp, saved, size = stack[k]
            if op == "rollback":
                pager.rollback_to_savepoint(sp)
                model = dict(saved)
                assert pager.db_size == size
                del stack[k + 1:]
            else:
                pager.release_savepoint(sp)
                del stack[k:]
        assert _rows(io, pager, root) == model
    assert drive(io, integrity_check, pager, [1, root]) == ["ok"]
    drive(io, pager.commit)
    assert _rows(io, pager, root) == model
