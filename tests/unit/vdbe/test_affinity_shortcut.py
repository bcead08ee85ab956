"""OP_Affinity skips apply_affinity only for values it would return unchanged."""

import sqlite3

import limbodb
from limbodb.vdbe import value as V
from limbodb.vdbe.execute_data import _KEEPS, _NONE_KEEPS

_VALUES = (0, 1, -5, 2 ** 62, -(2 ** 63), "abc", "12", " 3 ", "1e3", "0x10", "x1", "", None, 1.5, 2.0, b"x")


def test_the_kept_classes_are_those_apply_affinity_leaves_alone():
    for aff in range(V.AFF_NONE, V.AFF_REAL + 1):
        keeps = _KEEPS.get(aff, _NONE_KEEPS)
        for v in _VALUES:
            kept = v.__class__ in keeps
            out = V.apply_affinity(v, aff)
            same = out.__class__ is v.__class__ and out == v
            assert kept <= same, (hex(aff), v, out)
    # Conversions the shortcut must not skip.
    assert int not in _KEEPS[V.AFF_TEXT] and V.AFF_REAL not in _KEEPS
    assert str not in _KEEPS[V.AFF_NUMERIC] and str not in _KEEPS[V.AFF_INTEGER]
    assert bool not in _KEEPS[V.AFF_INTEGER]


def test_inserted_values_take_their_column_affinity_as_in_sqlite(tmp_path):
    sql = "CREATE TABLE t1(a INTEGER, b TEXT, c REAL, d NUMERIC, e BLOB, f)"
    rows = [(v, v, v, v, v, v) for v in _VALUES + (1.5, 2.0, None, b"\x00")]
    out = []
    for mod in (sqlite3, limbodb):
        con = mod.connect(str(tmp_path / (mod.__name__ + ".db")))
        con.execute(sql)
        con.execute("BEGIN")
        con.executemany("INSERT INTO t1 VALUES(?, ?, ?, ?, ?, ?)", rows)
        con.execute("COMMIT")
        out.append(con.execute(
            "SELECT typeof(a), a, typeof(b), b, typeof(c), c, typeof(d), d, typeof(e), e, typeof(f), f "
            "FROM t1 ORDER BY rowid").fetchall())
        con.close()
    assert out[0] == out[1]
