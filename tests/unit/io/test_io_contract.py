"""The File/IO contract, checked identically on every backend (memory, blocking, sim)."""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from limbodb.errors import IOError_, OperationalError, SQLITE_CANTOPEN, SQLITE_IOERR_READ
from limbodb.io import OPEN_READWRITE, SHARED_LOCK, Completion


def test_write_then_read_returns_the_bytes_written(io_backend, f):
    assert io_backend.wait_for(f.pwrite(0, b"hello world")) == 11
    assert io_backend.wait_for(f.pread(0, 11)) == b"hello world"
    assert io_backend.wait_for(f.pread(6, 5)) == b"world"


def test_write_accepts_bytearray_and_memoryview(io_backend, f):
    io_backend.wait_for(f.pwrite(0, bytearray(b"abc")))
    io_backend.wait_for(f.pwrite(3, memoryview(b"def")))
    assert io_backend.wait_for(f.pread(0, 6)) == b"abcdef"


def test_read_at_end_of_file_is_short(io_backend, f):
    io_backend.wait_for(f.pwrite(0, b"0123456789"))
    assert io_backend.wait_for(f.pread(8, 100)) == b"89"
    assert io_backend.wait_for(f.pread(10, 4)) == b""
    assert io_backend.wait_for(f.pread(50, 4)) == b""


def test_write_past_end_of_file_fills_the_gap_with_zeros(io_backend, f):
    io_backend.wait_for(f.pwrite(0, b"ab"))
    io_backend.wait_for(f.pwrite(6, b"cd"))
    assert io_backend.wait_for(f.size()) == 8
    assert io_backend.wait_for(f.pread(0, 8)) == b"ab\0\0\0\0cd"


def test_overwrite_in_the_middle_keeps_the_rest(io_backend, f):
    io_backend.wait_for(f.pwrite(0, b"aaaaaaaa"))
    io_backend.wait_for(f.pwrite(2, b"XY"))
    assert io_backend.wait_for(f.pread(0, 8)) == b"aaXYaaaa"
    assert io_backend.wait_for(f.size()) == 8


def test_truncate_shrinks_and_grows_with_zeros(io_backend, f):
    io_backend.wait_for(f.pwrite(0, b"0123456789"))
    assert io_backend.wait_for(f.truncate(4)) is None
    assert io_backend.wait_for(f.size()) == 4
    assert io_backend.wait_for(f.pread(0, 10)) == b"0123"
    io_backend.wait_for(f.truncate(6))
    assert io_backend.wait_for(f.pread(0, 10)) == b"0123\0\0"


def test_size_of_new_file_is_zero_and_sync_returns_none(io_backend, f):
    assert io_backend.wait_for(f.size()) == 0
    io_backend.wait_for(f.pwrite(0, b"x" * 4096))
    assert io_backend.wait_for(f.sync()) is None
    assert io_backend.wait_for(f.size()) == 4096


def test_completions_carry_op_and_offset(io_backend, f):
    c = f.pwrite(100, b"x")
    assert (c.op, c.offset) == ("write", 100)
    io_backend.wait_for(c)
    r = f.pread(100, 1)
    assert (r.op, r.offset) == ("read", 100)
    assert io_backend.wait_for(r) == b"x"
    assert r.succeeded() and r.error() is None and r.result == b"x"


def test_two_opens_of_one_path_see_the_same_bytes(io_backend, f, file_path):
    io_backend.wait_for(f.pwrite(0, b"shared"))
    g = io_backend.open_file(file_path, OPEN_READWRITE)
    try:
        assert io_backend.wait_for(g.pread(0, 6)) == b"shared"
    finally:
        g.close()


def test_open_without_create_fails_on_a_missing_file(io_backend, file_path):
    assert not io_backend.exists(file_path)
    with pytest.raises(OperationalError) as e:
        io_backend.open_file(file_path, OPEN_READWRITE)
    assert e.value.sqlite_errorcode == SQLITE_CANTOPEN
    assert e.value.args[0] == "unable to open database file"


def test_exists_and_remove(io_backend, f, file_path):
    assert io_backend.exists(file_path)
    f.close()
    io_backend.remove(file_path)
    assert not io_backend.exists(file_path)
    io_backend.remove(file_path)  # removing a missing file is not an error
    g = io_backend.open_file(file_path)
    try:
        assert io_backend.wait_for(g.size()) == 0
    finally:
        g.close()


def test_lock_succeeds_without_contention(f):
    assert f.lock(SHARED_LOCK) is True
    f.unlock()


def test_wait_for_raises_the_completion_error(io_backend):
    c = Completion("read", 4096)
    err = IOError_("disk I/O error", SQLITE_IOERR_READ, op="read", offset=4096)
    c.fail(err)
    with pytest.raises(IOError_) as e:
        io_backend.wait_for(c)
    assert e.value is err


def test_wait_for_returns_result_of_a_finished_completion(io_backend):
    c = Completion("size")
    c.complete(42)
    assert io_backend.wait_for(c) == 42


_ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 3000), st.binary(min_size=0, max_size=700)),
        st.tuples(st.just("truncate"), st.integers(0, 3000), st.just(b"")),
    ),
    max_size=12,
)
_unique = itertools.count()


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=_ops)
def test_random_writes_and_truncates_match_a_bytearray_model(io_factory, tmp_path, ops):
    io = io_factory()
    f = io.open_file(str(tmp_path / f"m{next(_unique)}.db"))
    model = bytearray()
    try:
        for kind, offset, data in ops:
            if kind == "write":
                io.wait_for(f.pwrite(offset, data))
                if offset > len(model) and data:  # an empty pwrite never extends
                    model.extend(bytes(offset - len(model)))
                model[offset:offset + len(data)] = data
            else:
                io.wait_for(f.truncate(offset))
                model = model[:offset] + bytes(max(0, offset - len(model)))
        assert io.wait_for(f.size()) == len(model)
        assert io.wait_for(f.pread(0, len(model) + 10)) == bytes(model)
    finally:
        f.close()
