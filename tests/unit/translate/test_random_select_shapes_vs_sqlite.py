"""Random SELECT shapes (GROUP BY/HAVING, DISTINCT, ORDER BY with NULLS and COLLATE, LIMIT/OFFSET,
compounds, subqueries) over mixed-type data give sqlite3's rows, in sqlite3's order where the
query fixes one."""

import sqlite3

from hypothesis import given, settings, strategies as st

from limbodb.connection import Connection
from limbodb.io import run_sync
from limbodb.vdbe import DONE, ROW

SETUP = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c TEXT COLLATE NOCASE, d REAL)",
    "CREATE INDEX i1 ON t1(c)",
    "CREATE TABLE t2(e, f)",
] + [
    f"INSERT INTO t1 VALUES({i}, {b}, {c}, {d})"
    for i, (b, c, d) in enumerate([("NULL", "'x'", "1.5"), ("3", "'Y'", "NULL"), ("'3'", "'X'", "-2"),
                                   ("7.5", "NULL", "0"), ("3", "'y'", "2"), ("-1", "'b'", "2"),
                                   ("'abc'", "'z'", "1.5"), ("10", "'y'", "3"), ("x'01'", "'B'", "5")], 1)
] + [f"INSERT INTO t2 VALUES({e}, {f})" for e, f in
     [(1, "'p'"), (3, "NULL"), (7, "'q'"), ("NULL", "'p'"), (3, "'r'"), ("'y'", "'s'")]]

_exprs = st.sampled_from(["a", "b", "c", "d", "a % 3", "b + 1", "c || '!'", "d IS NULL", "upper(c)",
                          "CASE WHEN b > 2 THEN 'big' ELSE 'small' END", "coalesce(b, d)"])
_aggs = st.sampled_from(["count(*)", "count(b)", "sum(d)", "max(c)", "min(b)", "count(DISTINCT c)",
                         "group_concat(a)", "avg(d)", "total(b)"])


@st.composite
def _query(draw):
    shape = draw(st.integers(0, 5))
    if shape == 0:
        g = draw(_exprs)
        having = draw(st.sampled_from(["", " HAVING count(*) > 1", " HAVING max(a) < 8"]))
        return f"SELECT {g}, {draw(_aggs)}, {draw(_aggs)} FROM t1 GROUP BY {g}{having} ORDER BY 1", True
    if shape == 1:
        return f"SELECT DISTINCT {draw(_exprs)} FROM t1", False
    if shape == 2:
        key = draw(_exprs)
        direction = draw(st.sampled_from(["", " DESC", " ASC NULLS LAST", " DESC NULLS FIRST"]))
        limit = draw(st.sampled_from(["", " LIMIT 3", " LIMIT 4 OFFSET 2", " LIMIT -1 OFFSET 1"]))
        return f"SELECT {key}, a FROM t1 ORDER BY {key}{direction}, a{limit}", True
    if shape == 3:
        op = draw(st.sampled_from(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]))
        return f"SELECT {draw(_exprs)} FROM t1 {op} SELECT e FROM t2", False
    if shape == 4:
        return (f"SELECT a, (SELECT count(*) FROM t2 WHERE e = t1.b), "
                f"EXISTS (SELECT 1 FROM t2 WHERE f = t1.c) FROM t1", False)
    return f"SELECT {draw(_aggs)}, {draw(_aggs)} FROM t1 WHERE {draw(_exprs)}", False


_ref = sqlite3.connect(":memory:")
for _s in SETUP:
    _ref.execute(_s)
_conn = Connection(":memory:")
run_sync(_conn.io, _conn.open)


def _run(sql):
    stmt, _ = _conn.prepare(sql)
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
    _run(_s)


@settings(max_examples=120, deadline=None)
@given(_query())
def test_random_select_shapes_match_sqlite(q):
    sql, ordered = q
    want = _ref.execute(sql).fetchall()
    got = _run(sql)
    if not ordered:
        want = sorted(want, key=repr)
        got = sorted(got, key=repr)
    assert got == want, sql
