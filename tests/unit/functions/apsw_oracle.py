"""The same SQL on apsw (a current SQLite, the oracle for features newer than 3.40) and on
limbodb: equal rows, or errors on both with limbodb's message ending apsw's."""

import pytest

import limbodb
from limbodb import Error

apsw = pytest.importorskip("apsw")


def connections():
    return apsw.Connection(":memory:"), limbodb.connect(":memory:")


def run_both(dbs, sql, args=()):
    """limbodb's rows (None after a shared error); fails where the two differ."""
    oracle, db = dbs
    try:
        expect = [tuple(r) for r in oracle.execute(sql, args).fetchall()]
    except apsw.Error as e:
        with pytest.raises(Error) as info:
            db.execute(sql, args).fetchall()
        assert str(e).endswith(str(info.value)), (sql, args)
        return None
    got = [tuple(r) for r in db.execute(sql, args).fetchall()]
    assert got == expect, (sql, args)
    return got
