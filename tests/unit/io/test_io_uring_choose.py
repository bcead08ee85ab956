"""choose_io: io_uring where the kernel allows it, else BlockingIO with a logged reason."""

import errno
import logging

import pytest

from limbodb.io import BlockingIO
from limbodb.io.uring import choose
from limbodb.io.uring.choose import choose_io, uring_unavailable_reason

URING_REASON = uring_unavailable_reason()


@pytest.fixture(autouse=True)
def no_shared_ring(monkeypatch):
    """Each test decides afresh: the process's shared ring is set aside."""
    monkeypatch.setattr(choose, "_shared", None)


def _refuse_setup(entries=256, binding=None):
    raise OSError(errno.EPERM, "Operation not permitted")


@pytest.mark.skipif(URING_REASON is not None, reason=f"io_uring unavailable: {URING_REASON}")
def test_auto_picks_io_uring_on_this_machine(monkeypatch):
    monkeypatch.delenv(choose.ENV_VAR, raising=False)
    io = choose_io("auto")
    assert type(io).__name__ == "UringIO"
    # One ring per process: the storage layer binds a shared file to its first opener's backend.
    assert choose_io("uring") is io


def test_blocking_is_chosen_by_name_and_by_the_environment(monkeypatch):
    assert type(choose_io("blocking")) is BlockingIO
    monkeypatch.setenv(choose.ENV_VAR, "blocking")
    assert type(choose_io()) is BlockingIO
    assert type(choose_io("auto")) is BlockingIO


def test_an_unknown_kind_is_a_value_error(monkeypatch):
    with pytest.raises(ValueError, match="unknown I/O backend 'mmap'"):
        choose_io("mmap")
    monkeypatch.setenv(choose.ENV_VAR, "fast")
    with pytest.raises(ValueError, match="LIMBODB_IO=fast"):
        choose_io()


def test_a_refused_setup_falls_back_to_blocking_and_logs_why(monkeypatch, caplog):
    monkeypatch.delenv(choose.ENV_VAR, raising=False)
    monkeypatch.setattr(choose, "new_ring", _refuse_setup)
    with caplog.at_level(logging.INFO, logger="limbodb.io"):
        assert type(choose_io("uring")) is BlockingIO
        assert type(choose_io("auto")) is BlockingIO
    warning, info = caplog.records
    assert warning.levelno == logging.WARNING and info.levelno == logging.INFO
    assert "io_uring_setup failed: Operation not permitted (errno 1)" in warning.getMessage()
    assert "io='uring'" in warning.getMessage()


def test_the_disabled_knob_falls_back_with_its_value_in_the_log(monkeypatch, caplog, tmp_path):
    knob = tmp_path / "io_uring_disabled"
    knob.write_text("2\n")
    monkeypatch.setattr(choose, "DISABLED_KNOB", str(knob))
    monkeypatch.setenv(choose.ENV_VAR, "uring")
    with caplog.at_level(logging.INFO, logger="limbodb.io"):
        assert type(choose_io()) is BlockingIO
    assert f"io_uring is disabled ({knob} = 2)" in caplog.text
    assert "LIMBODB_IO=uring" in caplog.text


def test_other_platforms_and_architectures_fall_back(monkeypatch):
    monkeypatch.setattr(choose.sys, "platform", "emscripten")
    assert choose.environment_reason() == "io_uring needs Linux, this is emscripten"
    monkeypatch.setattr(choose.sys, "platform", "linux")
    monkeypatch.setattr(choose.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(choose, "liburing_available", lambda: False)
    assert "ctypes driver is x86-64 only (this is aarch64)" in choose.environment_reason()
    assert type(choose_io("auto")) is BlockingIO


def test_resolve_io_keeps_memory_databases_and_backend_instances(monkeypatch):
    monkeypatch.setenv(choose.ENV_VAR, "blocking")
    assert choose.resolve_io(":memory:", "uring") is None
    assert type(choose.resolve_io("t1.db", None)) is BlockingIO
    mine = BlockingIO()
    assert choose.resolve_io("t1.db", mine) is mine
