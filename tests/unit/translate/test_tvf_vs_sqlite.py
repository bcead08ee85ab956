"""Table-valued functions (json_each, json_tree, pragma_*) and generate_series, against sqlite3."""

import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x', c REAL)",
    "CREATE UNIQUE INDEX t1b ON t1(b DESC, c)",
    "CREATE INDEX t1c ON t1(c COLLATE NOCASE)",
    "CREATE TABLE t2(a, doc)",
    """INSERT INTO t2 VALUES (1, '[1,2,{"x":3}]'), (2, '{"k":"v","n":null,"f":1.5,"t":true}'),
       (3, '5'), (4, '[]'), (5, NULL)""",
    "CREATE TABLE t3(x REFERENCES t1, y, z, w REFERENCES t2(a) MATCH FULL, FOREIGN KEY(y, z) REFERENCES t1(b, c) "
    "ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED)",
]

JSON_DOCS = ['[1,2,3]', '{"a":1,"b":[2,3],"c":{"d":"e"}}', '"str"', '5', 'null', '[]', '{}',
             '{"a b":1,"c\\"d":2,"e\\u0041":[true,false,null,1.5e3]}', '[[[]],[{}]]',
             '{"a":{"b":{"c":[1,{"d":2}]}}}', '  [ 1 , "two" ]  ', '[9223372036854775808, -0.0]']
PATHS = ['$', '$.a', '$.b', '$.c', '$[1]', '$.a.b', '$.a.b.c', '$.a.b.c[1]', '$.zz', '$[5]']

QUERIES = [
    "SELECT * FROM t2, json_each(t2.doc) ORDER BY t2.a, id",
    "SELECT t2.a, j.key, j.value, j.type FROM t2 JOIN json_tree(t2.doc) AS j ORDER BY 1, j.id",
    "SELECT t2.a, j.fullkey FROM t2 LEFT JOIN json_each(t2.doc) j ORDER BY 1, 2",
    "SELECT a, (SELECT count(*) FROM json_each(doc)) FROM t2 ORDER BY a",
    "SELECT value FROM json_each('[3,1,2]') WHERE value > 1 ORDER BY value",
    "SELECT json, root, rowid FROM json_each('[10,20]', '$')",
    "SELECT sum(value) FROM json_each('[1,2,3]')",
    "SELECT * FROM json_each('[1,2') ",
    "SELECT * FROM json_each('[1,2]', 'x')",
    "SELECT * FROM json_each('[1]', '$', 3)",
    "SELECT * FROM json_each(NULL)",
    "SELECT * FROM json_each('[1]', NULL)",
    "SELECT * FROM pragma_table_info('t1')",
    "SELECT * FROM pragma_table_xinfo('t1')",
    "SELECT name FROM pragma_table_info('t1') WHERE pk",
    "SELECT * FROM pragma_index_list('t1') ORDER BY name",
    "SELECT * FROM pragma_index_info('t1b')",
    "SELECT * FROM pragma_index_xinfo('t1c')",
    "SELECT * FROM pragma_table_info('nope')",
    "SELECT m.name, p.name, p.type FROM sqlite_schema AS m, pragma_table_info(m.name) AS p "
    "WHERE m.type = 'table' ORDER BY 1, p.cid",
    "SELECT arg, schema FROM pragma_table_info('t2')",
    "SELECT * FROM no_such_function(1)",
    "SELECT j.* FROM json_each('[1]') AS j",
    "SELECT key FROM json_each('{\"b\":1,\"a\":2}') ORDER BY key",
    "SELECT * FROM pragma_foreign_key_list('t3')",
    "SELECT \"from\", \"to\", arg FROM pragma_foreign_key_list('t3') WHERE \"table\" = 't1'",
    "SELECT * FROM pragma_foreign_key_list('t2')",
    "SELECT t2.a, j.value FROM json_each(t2.doc) AS j, t2 ORDER BY 1, 2",
    "SELECT t2.a, j.value FROM json_each(t2.doc) AS j JOIN t2 ON t2.a < 3 ORDER BY 1, 2",
    "SELECT a.value, b.value FROM json_each('[1,[2,3]]') AS a, json_each(a.value) AS b",
    "SELECT j.value FROM t2, json_each(t2.doc) AS j WHERE j.value > t2.a",
    "SELECT * FROM t2 WHERE a IN (SELECT value FROM json_each('[2, 4]'))",
    "WITH x(d) AS (SELECT '[5,6]') SELECT value FROM x, json_each(x.d)",
    "SELECT value FROM json_each('[1,2]') UNION ALL SELECT value FROM json_each('[3]')",
    "SELECT value FROM json_each('[1,2,3]') WHERE rowid = 1",
    "SELECT * FROM json_each()",
]

PLANS = [
    "SELECT * FROM t2, json_tree(t2.doc) AS j",
    "SELECT * FROM t2 LEFT JOIN json_each(t2.doc, '$')",
    "SELECT * FROM json_each()",
    "SELECT * FROM pragma_table_info('t2')",
]


def _run(mod, sql, setup=SETUP):
    c = mod.connect(":memory:")
    for s in setup:
        c.execute(s)
    try:
        rows = c.execute(sql).fetchall()
        return [tuple((type(v).__name__, v) for v in r) for r in rows]
    except mod.Error as e:
        return (type(e).__name__, str(e))


@pytest.mark.parametrize("sql", QUERIES)
def test_table_valued_query_matches_sqlite(sql):
    assert _run(limbodb, sql) == _run(sqlite3, sql)


@pytest.mark.parametrize("sql", PLANS)
def test_query_plan_lines_match_sqlite(sql):
    def plan(mod):
        c = mod.connect(":memory:")
        for s in SETUP:
            c.execute(s)
        return [r[3] for r in c.execute("EXPLAIN QUERY PLAN " + sql)]
    assert plan(limbodb) == plan(sqlite3)


@pytest.mark.parametrize("doc", JSON_DOCS)
@pytest.mark.parametrize("fn", ["json_each", "json_tree"])
def test_json_walk_matches_sqlite_for_every_path(fn, doc):
    for path in PATHS:
        sql = f"SELECT *, json, root FROM {fn}(?, ?)"
        mine = limbodb.connect(":memory:").execute(sql, (doc, path)).fetchall()
        theirs = sqlite3.connect(":memory:").execute(sql, (doc, path)).fetchall()
        assert mine == theirs, (doc, path)
    sql = f"SELECT * FROM {fn}(?)"
    assert limbodb.connect(":memory:").execute(sql, (doc,)).fetchall() == \
        sqlite3.connect(":memory:").execute(sql, (doc,)).fetchall()


# SQLite 3.40's stdlib build lacks the generate_series extension; expected rows follow series.c.
@pytest.mark.parametrize("args, expected", [
    ("1, 5", [1, 2, 3, 4, 5]),
    ("0, 10, 3", [0, 3, 6, 9]),
    ("1, 10, -3", [10, 7, 4, 1]),
    ("1, 9, -3", [7, 4, 1]),
    ("5, 1", []),
    ("1, 3, 0", [1, 2, 3]),
    ("NULL, 3", []),
    ("'2', 4.9", [2, 3, 4]),
])
def test_generate_series_follows_series_c(args, expected):
    c = limbodb.connect(":memory:")
    assert [r[0] for r in c.execute(f"SELECT * FROM generate_series({args})")] == expected


def test_generate_series_hidden_columns_and_correlation():
    c = limbodb.connect(":memory:")
    assert c.execute("SELECT value, start, stop, step, rowid FROM generate_series(2, 6, 2)").fetchall() == \
        [(2, 2, 6, 2, 2), (4, 2, 6, 2, 4), (6, 2, 6, 2, 6)]
    c.execute("CREATE TABLE t1(a)")
    c.execute("INSERT INTO t1 VALUES (1), (3)")
    assert c.execute("SELECT a, value FROM t1, generate_series(1, t1.a) ORDER BY a, value").fetchall() == \
        [(1, 1), (3, 1), (3, 2), (3, 3)]
    assert c.execute("SELECT count(*) FROM generate_series(1, 1000)").fetchone() == (1000,)
    with pytest.raises(limbodb.OperationalError, match=r"too many arguments on generate_series\(\) - max 3"):
        c.execute("SELECT * FROM generate_series(1, 2, 3, 4)")


def test_generate_series_rows_are_produced_lazily():
    c = limbodb.connect(":memory:")
    # The default stop is 4294967295: only the rows read are produced.
    assert c.execute("SELECT value FROM generate_series(5) LIMIT 3").fetchall() == [(5,), (6,), (7,)]
    assert c.execute("SELECT value FROM generate_series() LIMIT 1").fetchall() == [(0,)]
