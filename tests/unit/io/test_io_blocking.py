"""BlockingIO specifics: OS errors become IOError_ with SQLite's extended codes."""

import os

import pytest

from limbodb.errors import IOError_, SQLITE_IOERR_FSYNC, SQLITE_IOERR_READ, SQLITE_IOERR_WRITE
from limbodb.io import BlockingIO


@pytest.mark.parametrize("call, op, offset, code", [
    (lambda f: f.pread(4096, 10), "read", 4096, SQLITE_IOERR_READ),
    (lambda f: f.pwrite(512, b"x"), "write", 512, SQLITE_IOERR_WRITE),
    (lambda f: f.sync(), "sync", None, SQLITE_IOERR_FSYNC),
])
def test_os_error_becomes_ioerror_with_op_offset_and_code(tmp_path, call, op, offset, code):
    io = BlockingIO()
    path = str(tmp_path / "t1.db")
    f = io.open_file(path)
    os.close(f.fd)  # the descriptor number stays but is invalid: the OS fails every call (EBADF)
    c = call(f)
    with pytest.raises(IOError_) as e:
        io.wait_for(c)
    err = e.value
    assert (err.op, err.offset, err.path, err.sqlite_errorcode) == (op, offset, path, code)
    assert isinstance(err.__cause__, OSError)
