"""ALTER TABLE and CREATE TABLE AS SELECT: the same schema text, rows and errors as sqlite3."""

import sqlite3

import pytest

import limbodb


def _run(mod, path, script):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for s in script:
        try:
            out.append((s, c.execute(s).fetchall()))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e)))
    out.append(c.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema").fetchall())
    c.close()
    return out


def _same(tmp_path, script):
    mine = _run(limbodb, tmp_path / "l.db", script)
    theirs = _run(sqlite3, tmp_path / "s.db", script)
    assert mine == theirs
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    return mine


RENAME_TABLE = [
    "CREATE TABLE t(a int primary key, b text unique, c check(c>0), foreign key(b) references t(a))",
    "CREATE TABLE p(x references t(a), y references \"t\", z REFERENCES other(a))",
    "CREATE INDEX ti ON t(b, c)",
    "CREATE VIEW v AS SELECT a, t.b, c FROM t WHERE c > 1",
    "CREATE VIEW v2 AS SELECT x.a FROM t AS x, p WHERE p.x = x.a",
    "CREATE VIEW v3 AS SELECT 1 FROM p, main.t JOIN p AS q ON q.x = t.a",
    "CREATE TABLE s(id integer primary key autoincrement, t)",
    "INSERT INTO s(t) VALUES(1)",
    "INSERT INTO t VALUES(1, 'x', 5), (2, 'y', 6)",
    "ALTER TABLE t RENAME TO \"u 1\"",
    "ALTER TABLE s RENAME TO s2",
    "SELECT * FROM sqlite_sequence",
    "SELECT * FROM \"u 1\"",
    "SELECT * FROM v",
    "INSERT INTO s2(t) VALUES(2)",
    "SELECT * FROM s2",
    "ALTER TABLE p RENAME TO s2",
    "ALTER TABLE p RENAME TO ti",
    "ALTER TABLE p RENAME TO sqlite_x",
    "ALTER TABLE nope RENAME TO x",
    "ALTER TABLE sqlite_sequence RENAME TO x",
    "ALTER TABLE v RENAME TO x",
    "ALTER TABLE v ADD COLUMN x",
    "ALTER TABLE v RENAME COLUMN a TO x",
    "ALTER TABLE v DROP COLUMN a",
]


def test_rename_table_rewrites_dependents_like_sqlite(tmp_path):
    _same(tmp_path, RENAME_TABLE)


RENAME_COLUMN = [
    "CREATE TABLE t(a int primary key, b text unique, c check(c>0), d DEFAULT 4, "
    "foreign key(b) references t(a), CHECK (c < 100))",
    "CREATE TABLE p(x references t(b), y references q(b), b)",
    "CREATE INDEX ti ON t(b, c COLLATE nocase) ",
    "CREATE INDEX pi ON p(b)",
    "CREATE VIEW v AS SELECT a, t.b, c AS c FROM t WHERE c > 1",
    "CREATE VIEW w AS SELECT x.c FROM t AS x",
    "INSERT INTO t VALUES(1, 'x', 5, 1)",
    "ALTER TABLE t RENAME COLUMN c TO \"d d\"",
    "ALTER TABLE t RENAME b TO e",
    "ALTER TABLE t RENAME COLUMN zz TO y",
    "ALTER TABLE t RENAME COLUMN a TO d",
    "SELECT * FROM v",
    "SELECT * FROM w",
    "SELECT e, \"d d\" FROM t",
    "INSERT INTO t VALUES(2, 'y', 3, 1)",
    "SELECT * FROM t",
]


def test_rename_column_rewrites_dependents_like_sqlite(tmp_path):
    _same(tmp_path, RENAME_COLUMN)


ADD_COLUMN = [
    "CREATE TABLE t(a, b, CONSTRAINT pk PRIMARY KEY (a), CHECK(b IS NOT 7))",
    "CREATE TABLE e(a)",
    "INSERT INTO t VALUES(1, 2), (2, 3)",
    "ALTER TABLE t ADD COLUMN c INT DEFAULT 3  ;  ",
    "ALTER TABLE t ADD d text collate nocase DEFAULT 'x' /* note */",
    "ALTER TABLE t ADD COLUMN e REAL DEFAULT -1",
    "ALTER TABLE t ADD f DEFAULT NULL",
    "ALTER TABLE t ADD g NOT NULL DEFAULT 'q'",
    "SELECT * FROM t",
    "SELECT typeof(e), e FROM t",
    "INSERT INTO t(a) VALUES(3)",
    "SELECT * FROM t WHERE c = 3 AND d = 'X'",
    "ALTER TABLE t ADD h PRIMARY KEY",
    "ALTER TABLE t ADD h UNIQUE",
    "ALTER TABLE t ADD h NOT NULL",
    "ALTER TABLE t ADD h DEFAULT (random())",
    "ALTER TABLE t ADD h DEFAULT (1 + 2)",
    "ALTER TABLE t ADD h DEFAULT CURRENT_TIME",
    "ALTER TABLE t ADD a INT",
    "ALTER TABLE e ADD h NOT NULL",
    "ALTER TABLE e ADD i DEFAULT CURRENT_TIME",
    "CREATE TABLE c2(x)",
    "CREATE TABLE c3 AS SELECT a, b AS 'b c', c + 1, d || '', e, max(a) FROM t",
    "CREATE TABLE c4 AS SELECT CAST(a AS TEXT) AS t, CAST(a AS NUMERIC) n, 1.5 AS r FROM t WHERE a > 1",
    "SELECT * FROM c3",
    "SELECT * FROM c4",
]


def test_add_column_and_create_table_as_like_sqlite(tmp_path):
    _same(tmp_path, ADD_COLUMN)


DROP_COLUMN = [
    "CREATE TABLE p(x, y check(y>0), z, w, foreign key(z) references q(a), constraint pk primary key (w))",
    "CREATE TABLE q(a primary key, b, c UNIQUE, d, e, CHECK(e > 0))",
    "CREATE INDEX qi ON q(d)",
    "CREATE VIEW qv AS SELECT q.b FROM q",
    "CREATE TABLE e(a)",
    "INSERT INTO p VALUES(1, 2, 3, 4), (5, 6, 7, 8)",
    "INSERT INTO q VALUES(1, 2, 3, 4, 5)",
    "ALTER TABLE p ADD hh DEFAULT -1",
    "ALTER TABLE p ADD h4 DEFAULT 'x'",
    "ALTER TABLE p DROP COLUMN y",
    "ALTER TABLE p DROP COLUMN z",
    "ALTER TABLE p DROP COLUMN w",
    "ALTER TABLE p DROP COLUMN nope",
    "ALTER TABLE q DROP COLUMN a",
    "ALTER TABLE q DROP COLUMN c",
    "ALTER TABLE q DROP COLUMN d",
    "ALTER TABLE q DROP COLUMN e",
    "ALTER TABLE q DROP COLUMN b",
    "ALTER TABLE e DROP COLUMN a",
    "ALTER TABLE p DROP COLUMN hh",
    "ALTER TABLE p DROP COLUMN x",
    "ALTER TABLE p DROP h4",
    "SELECT * FROM p",
    "INSERT INTO p VALUES(9, 10)",
    "SELECT * FROM p",
    "SELECT * FROM q",
]


def test_drop_column_rewrites_rows_and_refuses_like_sqlite(tmp_path):
    _same(tmp_path, DROP_COLUMN)


WITHOUT_ROWID = [
    "CREATE TABLE w(k TEXT, a, b, c, PRIMARY KEY(k, b)) WITHOUT ROWID",
    "CREATE INDEX wa ON w(a)",
    "INSERT INTO w VALUES('x', 1, 2, 3), ('y', 4, 5, 6), ('a', 7, 8, 9), ('m', NULL, 0, 'q')",
    "ALTER TABLE w RENAME COLUMN c TO cc",
    "ALTER TABLE w DROP COLUMN cc",
    "SELECT * FROM w ORDER BY k",
    "ALTER TABLE w DROP COLUMN a",
    "ALTER TABLE w DROP COLUMN b",
    "ALTER TABLE w RENAME TO w2",
    "SELECT k, b FROM w2 WHERE a = 4",
    "INSERT INTO w2 VALUES('b', 10, 11)",
    "SELECT k, a, b FROM w2 ORDER BY k, b",
    "PRAGMA integrity_check",
]


def test_without_rowid_tables_alter_like_sqlite(tmp_path):
    _same(tmp_path, WITHOUT_ROWID)


def test_rows_shorter_than_the_table_read_the_default(tmp_path):
    path = tmp_path / "s.db"
    c = sqlite3.connect(path)
    c.executescript("CREATE TABLE t(a); INSERT INTO t VALUES(1);"
                    "ALTER TABLE t ADD b DEFAULT 'dflt'; ALTER TABLE t ADD c REAL DEFAULT 2;")
    c.close()
    mine = limbodb.connect(str(path))
    assert mine.execute("SELECT a, b, c, typeof(c) FROM t").fetchall() == [(1, "dflt", 2.0, "real")]
    mine.close()


def test_altered_file_opens_in_sqlite3(tmp_path):
    path = tmp_path / "l.db"
    c = limbodb.connect(str(path))
    c.execute("CREATE TABLE t(a, b, c)")
    c.executemany("INSERT INTO t VALUES(?, ?, ?)", [(i, str(i) * 50, i * 1.5) for i in range(300)])
    c.commit()
    c.execute("ALTER TABLE t DROP COLUMN b")
    c.execute("ALTER TABLE t RENAME TO u")
    c.commit()
    c.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert check.execute("SELECT sum(a), sum(c) FROM u").fetchone() == (44850, 67275.0)
    assert check.execute("SELECT sql FROM sqlite_schema").fetchall() == [('CREATE TABLE "u"(a, c)',)]
    check.close()


@pytest.mark.parametrize("sql", ["ALTER TABLE t RENAME TO u", "ALTER TABLE t ADD COLUMN z",
                                 "ALTER TABLE t RENAME a TO z", "ALTER TABLE t DROP COLUMN b"])
def test_prepared_statements_see_the_new_schema(tmp_path, sql):
    script = ["CREATE TABLE t(a, b)", "INSERT INTO t VALUES(1, 2)", sql,
              "SELECT * FROM " + ("u" if "RENAME TO" in sql else "t")]
    _same(tmp_path, script)


def _random_alter_script(rng):
    """CREATE statements then a random run of ALTER TABLE on them, with reads between."""
    script = [
        "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c REAL DEFAULT 1.5, d, UNIQUE(d))",
        "CREATE INDEX i1 ON t1(b)",
        "CREATE TABLE t2(x REFERENCES t1(a), y CHECK(y IS NOT 0), z)",
        "CREATE VIEW v1 AS SELECT t1.a, b FROM t1 JOIN t2 ON t2.x = t1.a",
        "INSERT INTO t1 VALUES(1, 'p', 2, 3), (2, 'q', NULL, 4)",
        "INSERT INTO t2 VALUES(1, 5, 'r')",
    ]
    names = {"t1": ["a", "b", "c", "d"], "t2": ["x", "y", "z"]}
    tables = ["t1", "t2"]
    for step in range(8):
        k = rng.randrange(len(tables))
        t = tables[k]
        cols = names[t]
        kind = rng.choice(["add", "add", "rename_col", "drop", "rename"])
        if kind == "add":
            col = f"n{step}"
            script.append(f"ALTER TABLE {t} ADD COLUMN {col} "
                          + rng.choice(["INT DEFAULT 7", "TEXT", "DEFAULT 'w'", "REAL DEFAULT -2"]))
            cols.append(col)
        elif kind == "rename_col":
            old = rng.choice(cols)
            new = rng.choice([f"r{step}", f'"s {step}"', cols[0]])
            script.append(f"ALTER TABLE {t} RENAME COLUMN {old} TO {new}")
            if new != cols[0] or old == cols[0]:
                cols[cols.index(old)] = new.strip('"')
        elif kind == "drop":
            col = rng.choice(cols)
            script.append(f'ALTER TABLE {t} DROP COLUMN "{col}"')
        else:
            new = f"{t}_{step}"
            script.append(f"ALTER TABLE {t} RENAME TO {new}")
            names[new] = names.pop(t)
            tables[k] = new
    return script


@pytest.mark.parametrize("seed", range(25))
def test_random_alter_sequences_match_sqlite(tmp_path, seed):
    import random
    script = _random_alter_script(random.Random(seed))
    mine = _run(limbodb, tmp_path / "l.db", script)
    theirs = _run(sqlite3, tmp_path / "s.db", script)
    ok = [s for s in theirs[:-1] if len(s) == 2]
    if len(ok) == len(theirs) - 1:
        # Every ALTER succeeded in sqlite3: compare the rows the tables end with too.
        tables = sqlite3.connect(tmp_path / "s.db").execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
        extra = [f'SELECT * FROM "{n}"' for (n,) in tables]
        mine = _run(limbodb, tmp_path / "l2.db", script + extra)
        theirs = _run(sqlite3, tmp_path / "s2.db", script + extra)
    assert mine == theirs
