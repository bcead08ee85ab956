"""The limbodb package: the sqlite3-shaped names, loaded lazily so one layer imports on its own."""

import subprocess
import sys

import pytest

import limbodb


def test_importing_a_layer_does_not_load_the_dbapi():
    code = ("import sys, limbodb.storage.record, limbodb.errors; "
            "assert 'limbodb.dbapi' not in sys.modules, 'dbapi loaded eagerly'; "
            "assert 'limbodb.connection' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sqlite3_names_are_exported():
    from limbodb import Row, connect
    assert callable(connect) and Row is limbodb.dbapi.Row
    for name in ("connect", "Connection", "Cursor", "Row", "PARSE_DECLTYPES", "register_adapter",
                 "complete_statement", "sqlite_version", "Error", "IntegrityError"):
        assert name in dir(limbodb)
        assert getattr(limbodb, name) is not None
    assert limbodb.Error is limbodb.errors.Error


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        limbodb.no_such_name


def test_result_codes_are_exported_like_sqlite3():
    import sqlite3
    for name in ("SQLITE_OK", "SQLITE_BUSY", "SQLITE_CONSTRAINT", "SQLITE_CONSTRAINT_UNIQUE",
                 "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_IOERR_READ"):
        assert getattr(limbodb, name) == getattr(sqlite3, name)
    assert "SQLITE_CONSTRAINT_NOTNULL" in dir(limbodb)
