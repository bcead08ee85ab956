"""A FROM subquery run as a co-routine under SimulatedIO: the outer loop and the
subquery both read pages, and each wait resumes at the instruction that asked (the
co-routine's place is a register, not Python state), so the rows come out as with no waits.
"""

import sqlite3

import pytest

from limbodb.connection import Connection
from limbodb.io.completion import run_sync
from limbodb.io.sim import SimulatedIO
from limbodb.storage.database import Database

from .stepping import run_statement

SETUP = [
    "CREATE TABLE t1(a, b)",
    "INSERT INTO t1 SELECT value, printf('%.300c', 'x') FROM generate_series(1, 300)",
    "CREATE TABLE t2(x INTEGER PRIMARY KEY, y)",
    "INSERT INTO t2 SELECT value, printf('%.200c', 'y') FROM generate_series(1, 300, 7)",
]
QUERIES = [
    "SELECT a, length(b) FROM (SELECT a, b FROM t1 WHERE a % 3 = 0 UNION ALL SELECT x, y FROM t2)",
    "SELECT s.a, t2.x FROM (SELECT a FROM t1 UNION ALL SELECT 1000) AS s LEFT JOIN t2 ON t2.x = s.a",
    "SELECT count(*), sum(a) FROM (SELECT DISTINCT a % 50 AS a FROM t1)",
    "SELECT * FROM (SELECT a, length(b) FROM t1 ORDER BY b, a DESC) LIMIT 5 OFFSET 100",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 3 FROM c) "
    "SELECT x, (SELECT length(b) FROM t1 WHERE a = x) FROM c LIMIT 60",
]


@pytest.fixture(autouse=True)
def _forget_sim_databases():
    yield
    for key in [k for k, db in Database._registry.items() if isinstance(db.io, SimulatedIO)]:
        del Database._registry[key]


def _expected(sql):
    oracle = sqlite3.connect(":memory:")
    oracle.execute("CREATE TABLE t2(x INTEGER PRIMARY KEY, y)")
    oracle.execute("CREATE TABLE t1(a, b)")
    oracle.executemany("INSERT INTO t1 VALUES (?, ?)", [(i, "x" * 300) for i in range(1, 301)])
    oracle.executemany("INSERT INTO t2 VALUES (?, ?)", [(i, "y" * 200) for i in range(1, 301, 7)])
    return oracle.execute(sql).fetchall()


@pytest.mark.parametrize("sql", QUERIES)
def test_a_co_routine_resumes_after_each_io_wait(sql):
    io = SimulatedIO(seed=5, finish_probability=0.3)
    conn = Connection("main.db", io)
    run_sync(io, conn.open)
    for s in SETUP:
        run_statement(io, conn, s)
    run_sync(io, conn.close)
    files = {p: io.file_bytes(p, durable=True) for p in io.files}
    for key in [k for k, db in Database._registry.items() if db.io is io]:
        del Database._registry[key]
    io2 = SimulatedIO(seed=6, files=files, finish_probability=0.3)
    conn2 = Connection("main.db", io2)
    run_sync(io2, conn2.open)
    plan, _ = run_statement(io2, conn2, "EXPLAIN QUERY PLAN " + sql)
    assert plan[0][3].startswith("CO-ROUTINE")
    rows, waits = run_statement(io2, conn2, sql)
    assert waits > 0
    assert rows == _expected(sql)
