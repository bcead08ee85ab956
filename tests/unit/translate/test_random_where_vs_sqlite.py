"""Random WHERE clauses over indexed tables (every access path the planner may pick) give
sqlite3's rows."""

import sqlite3

from hypothesis import given, settings, strategies as st

from limbodb.connection import Connection
from limbodb.io import run_sync
from limbodb.vdbe import DONE, ROW

SETUP = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c TEXT, d REAL)",
    "CREATE INDEX i1 ON t1(b)",
    "CREATE INDEX i2 ON t1(c, d)",
    "CREATE TABLE t2(x, y PRIMARY KEY, z) WITHOUT ROWID",
] + [
    f"INSERT INTO t1 VALUES({a}, {v}, {c}, {d})"
    for a, v, c, d in [(1, "NULL", "'x'", "1.5"), (2, "3", "'y'", "NULL"), (3, "'3'", "'x'", "-2"),
                       (4, "7.5", "NULL", "0"), (5, "3", "'Y'", "2"), (6, "-1", "'x'", "2"),
                       (7, "'abc'", "'z'", "1.5"), (8, "10", "'y'", "3"), (9, "0", "'5'", "5")]
] + [f"INSERT INTO t2 VALUES({x}, {y}, {z})" for x, y, z in
     [(1, 1, "'p'"), (3, 2, "NULL"), (7, 3, "'q'"), ("NULL", 4, "'p'"), (3, 5, "'r'")]]

_values = st.sampled_from(["NULL", "0", "1", "2", "3", "'3'", "7.5", "'x'", "'y'", "-1", "1.5", "10", "?1"])
_t1_cols = st.sampled_from(["a", "b", "c", "d", "t1.a", "rowid"])
_ops = st.sampled_from(["=", "<", "<=", ">", ">=", "!=", "IS", "IS NOT"])


@st.composite
def _term(draw):
    kind = draw(st.integers(0, 4))
    col = draw(_t1_cols)
    if kind == 0:
        return f"{col} {draw(_ops)} {draw(_values)}"
    if kind == 1:
        items = draw(st.lists(_values, min_size=1, max_size=4))
        return f"{col} {'NOT ' if draw(st.booleans()) else ''}IN ({', '.join(items)})"
    if kind == 2:
        return f"{col} BETWEEN {draw(_values)} AND {draw(_values)}"
    if kind == 3:
        return f"{col} IN (SELECT x FROM t2 WHERE z {draw(_ops)} {draw(_values)})"
    return f"{draw(_values)} {draw(_ops)} {col}"


@st.composite
def _query(draw):
    terms = draw(st.lists(_term(), min_size=1, max_size=3))
    glue = draw(st.sampled_from([" AND ", " OR "]))
    where = glue.join(terms)
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return f"SELECT a, b, c, d FROM t1 WHERE {where}"
    if shape == 1:
        return f"SELECT b FROM t1 WHERE {where} ORDER BY b, a"
    if shape == 2:
        return f"SELECT t1.a, t2.y FROM t1, t2 WHERE t2.x = t1.b AND ({where})"
    return f"SELECT t1.a, t2.z FROM t1 LEFT JOIN t2 ON t2.y = t1.a WHERE {where}"


_ref = sqlite3.connect(":memory:")
for _s in SETUP:
    _ref.execute(_s)
_conn = Connection(":memory:")
run_sync(_conn.io, _conn.open)


def _run(sql, params):
    stmt, _ = _conn.prepare(sql)
    if stmt.parameter_count:
        stmt.bind(params)
    rows = []
    while True:
        r = stmt.step()
        if r == ROW:
            rows.append(stmt.row())
        elif r == DONE:
            return rows
        else:
            while not stmt.completion.finished():
                _conn.io.run_once()


for _s in SETUP:
    _run(_s, ())


@settings(max_examples=150, deadline=None)
@given(_query(), st.sampled_from([3, "3", "x", 1.5, None]))
def test_random_where_clauses_match_sqlite(sql, param):
    params = (param,) if "?1" in sql else ()
    want = _ref.execute(sql, params).fetchall()
    got = _run(sql, params)
    if "ORDER BY" not in sql:
        want = sorted(want, key=repr)
        got = sorted(got, key=repr)
    assert got == want, sql
