"""WITHOUT ROWID tables: the same rows, schema, plans, changes and errors as sqlite3."""

import sqlite3

import limbodb

SCRIPT = [
    "CREATE TABLE t(a TEXT, b INT, c, d UNIQUE, PRIMARY KEY(b, a DESC)) WITHOUT ROWID",
    "CREATE INDEX i1 ON t(c, a)",
    "INSERT INTO t VALUES('x', 1, 2, 3), ('y', 1, 5, 4), ('a', 2, 2.5, NULL), ('z', 0, 'q', 7)",
    "UPDATE t SET c = c || '!' WHERE b = 1",
    "UPDATE t SET a = 'w' WHERE d = 7",
    "DELETE FROM t WHERE a = 'a'",
    "INSERT OR IGNORE INTO t VALUES('x', 1, 10, 9)",
    "CREATE TABLE t2(k INTEGER PRIMARY KEY, v) WITHOUT ROWID",
    "INSERT INTO t2 VALUES(3, 'c'), (1, 'a'), (2, 'b')",
    "INSERT OR REPLACE INTO t2 VALUES(1, 'A')",
]
QUERIES = [
    "SELECT * FROM t", "SELECT * FROM t WHERE b = 1", "SELECT * FROM t WHERE b = 1 AND a = 'x'",
    "SELECT a, c FROM t ORDER BY b, a DESC", "SELECT * FROM t2", "SELECT * FROM t2 WHERE k > 1",
    "SELECT count(*) FROM t", "PRAGMA integrity_check", "SELECT * FROM sqlite_schema",
    "PRAGMA table_info(t)", "PRAGMA index_list(t)",
]
ERRORS = [
    "INSERT INTO t VALUES('x', 1, 0, 0)", "INSERT INTO t VALUES(NULL, 1, 0, 0)",
    "INSERT INTO t VALUES('n', 1, 0, 4)", "UPDATE t SET b = 1, a = 'y' WHERE d = 3",
]


def _session(mod):
    c = mod.connect(":memory:", isolation_level=None)
    out = []
    for s in SCRIPT:
        c.execute(s)
        out.append(c.total_changes)
    for q in QUERIES:
        out.append((q, c.execute(q).fetchall()))
    for q in QUERIES[:6]:
        out.append((q, [r[3] for r in c.execute("EXPLAIN QUERY PLAN " + q)]))
    for e in ERRORS:
        try:
            c.execute(e)
            out.append("no error")
        except mod.Error as ex:
            out.append((type(ex).__name__, str(ex)))
    out.append(c.execute("SELECT * FROM t").fetchall())
    return out


def test_without_rowid_tables_behave_like_sqlite():
    want = _session(sqlite3)
    got = _session(limbodb)
    for w, g in zip(want, got):
        assert g == w
    assert len(got) == len(want)
