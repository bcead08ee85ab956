"""Statements: a corpus that SQLite accepts parses here, with the expected shapes."""

import sqlite3

import pytest

from limbodb.parser import ast as A
from limbodb.parser import parse, parse_one

from .corpus import SCHEMA, VALID


def one(sql):
    stmts = parse(sql)
    assert len(stmts) == 1
    return stmts[0]


def _sqlite(sql):
    con = sqlite3.connect(":memory:")
    con.executescript(SCHEMA)
    return con


@pytest.mark.parametrize("sql", VALID)
def test_corpus_statement_is_valid_sqlite(sql):
    # EXPLAIN prepares without running; a binding-count error means it prepared.
    if sql.upper().startswith("EXPLAIN"):
        sql = sql.split(" ", 1)[1]
        if sql.upper().startswith("QUERY PLAN"):
            sql = sql[len("QUERY PLAN "):]
    try:
        _sqlite(sql).execute("EXPLAIN " + sql)
    except sqlite3.ProgrammingError as e:
        assert "bindings" in str(e)


@pytest.mark.parametrize("sql", VALID)
def test_corpus_statement_parses(sql):
    stmt = one(sql)
    assert isinstance(stmt, A.Stmt)
    assert stmt.pos == 0


def test_select_shape():
    s = one("WITH c(x) AS (SELECT 1) SELECT DISTINCT a, b AS bee, t1.* FROM t1 "
            "WHERE a > 1 GROUP BY b HAVING count(*) > 1 ORDER BY a DESC NULLS LAST LIMIT 5 OFFSET 2")
    assert s.with_.ctes[0].name == "c" and s.with_.ctes[0].columns == ["x"]
    core = s.cores[0]
    assert core.distinct
    assert [(c.alias, c.text) for c in core.columns] == [(None, "a"), ("bee", "b"), (None, "t1.*")]
    assert core.columns[2].expr.__class__ is A.Star and core.columns[2].expr.table == "t1"
    assert [f.name for f in core.from_] == ["t1"]
    assert core.where.op == ">" and len(core.group_by) == 1 and core.having.op == ">"
    t = s.order_by[0]
    assert t.desc and t.asc_written and t.nulls == A.NULLS_LAST
    assert s.limit.value == 5 and s.offset.value == 2


def test_limit_comma_form_is_offset_then_limit():
    s = one("SELECT 1 LIMIT 3, 10")
    assert (s.limit.value, s.offset.value) == (10, 3)


def test_compound_select():
    s = one("SELECT 1 UNION SELECT 2 UNION ALL VALUES (3) INTERSECT SELECT 4 EXCEPT SELECT 5 ORDER BY 1")
    assert s.ops == ["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]
    assert [c.__class__ for c in s.cores] == [A.SelectCore, A.SelectCore, A.Values, A.SelectCore,
                                              A.SelectCore]
    assert len(s.order_by) == 1


def test_values_statement():
    s = one("VALUES (1, 2), (3, 4)")
    assert [[e.value for e in row] for row in s.cores[0].rows] == [[1, 2], [3, 4]]


def test_joins():
    s = one("SELECT * FROM t1, t2 JOIN t3 USING (a) LEFT JOIN t4 ON 1 NATURAL CROSS JOIN t5 "
            "RIGHT OUTER JOIN t6 ON 1 FULL JOIN t7 ON 1")
    items = s.cores[0].from_
    assert [i.join_type for i in items] == [
        0, A.JT_INNER, A.JT_INNER, A.JT_LEFT | A.JT_OUTER, A.JT_NATURAL | A.JT_INNER | A.JT_CROSS,
        A.JT_RIGHT | A.JT_OUTER, A.JT_LEFT | A.JT_RIGHT | A.JT_OUTER]
    assert items[2].using == ["a"] and items[3].on.value == 1


def test_from_item_kinds():
    s = one("SELECT * FROM main.t1 AS x INDEXED BY i1, t2 NOT INDEXED, (SELECT 1) s, "
            "json_each('[1]') j, (t3 JOIN t4) AS g, (t5)")
    a, b, c, d, e, f = s.cores[0].from_
    assert (a.schema, a.name, a.alias, a.indexed_by) == ("main", "t1", "x", "i1")
    assert b.not_indexed
    assert c.__class__ is A.SubqueryRef and c.alias == "s"
    assert d.__class__ is A.FunctionRef and d.name == "json_each" and d.alias == "j"
    assert e.__class__ is A.JoinGroup and e.alias == "g" and len(e.items) == 2
    assert f.__class__ is A.TableRef and f.name == "t5"


def test_window_clause_and_alias_named_window():
    s = one("SELECT sum(a) OVER w FROM t1 WINDOW w AS (ORDER BY a), v AS (w)")
    assert [w.name for w in s.cores[0].windows] == ["w", "v"]
    assert s.cores[0].windows[1].window.base == "w"
    s = one("SELECT a FROM t1 window")
    assert s.cores[0].from_[0].alias == "window"


def test_cte_materialized_hints():
    s = one("WITH RECURSIVE a AS MATERIALIZED (SELECT 1), b AS NOT MATERIALIZED (SELECT 2) SELECT 1")
    assert s.with_.recursive
    assert [c.materialized for c in s.with_.ctes] == [True, False]


def test_insert_shapes():
    s = one("INSERT OR IGNORE INTO main.t1 AS x (a, b) VALUES (1, 2), (3, 4) "
            "ON CONFLICT (a) WHERE a > 0 DO UPDATE SET (b, c) = (1, 2), a = 3 WHERE b "
            "ON CONFLICT DO NOTHING RETURNING a")
    assert s.or_conflict == "IGNORE"
    assert (s.table.schema, s.table.name, s.table.alias) == ("main", "t1", "x")
    assert s.columns == ["a", "b"] and len(s.select.cores[0].rows) == 2
    u1, u2 = s.upsert
    assert [t.expr.name for t in u1.target] == ["a"] and u1.target_where.op == ">"
    assert u1.action == "UPDATE" and [i.columns for i in u1.sets] == [["b", "c"], ["a"]]
    assert u2.action == "NOTHING" and u2.target is None
    assert s.returning[0].text == "a"
    assert one("REPLACE INTO t1 VALUES (1)").or_conflict == "REPLACE"
    d = one("INSERT INTO t1 DEFAULT VALUES")
    assert d.default_values and d.select is None
    s = one("WITH c AS (SELECT 1) INSERT INTO t1 SELECT * FROM c")
    assert s.with_ is not None and s.select.cores[0].from_[0].name == "c"


def test_update_and_delete_shapes():
    s = one("UPDATE OR FAIL t1 AS x INDEXED BY i SET a = 1 FROM t2 WHERE x.a = t2.a "
            "RETURNING * ORDER BY a LIMIT 1 OFFSET 2")
    assert s.or_conflict == "FAIL" and s.table.alias == "x" and s.table.indexed_by == "i"
    assert s.from_[0].name == "t2" and s.where.op == "=" and s.returning[0].text == "*"
    assert s.order_by[0].expr.name == "a" and s.limit.value == 1 and s.offset.value == 2
    d = one("DELETE FROM t1 WHERE a = 1 RETURNING a, b")
    assert d.table.name == "t1" and len(d.returning) == 2


def test_create_table_shape():
    s = one("CREATE TEMP TABLE IF NOT EXISTS main.t3("
            "a INTEGER PRIMARY KEY DESC ON CONFLICT REPLACE AUTOINCREMENT, "
            "b VARCHAR(10) CONSTRAINT nn NOT NULL UNIQUE COLLATE nocase DEFAULT -1, "
            "c DECIMAL(10, 2) CHECK (c > 0) REFERENCES t1(a) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, "
            "d AS (a + 1) STORED, e DEFAULT (1 + 2), f unsigned big int, "
            "PRIMARY KEY (a, b DESC), UNIQUE (b) ON CONFLICT ABORT, CHECK (a < 5), "
            "CONSTRAINT fk FOREIGN KEY (c, d) REFERENCES t2 (x, y)) WITHOUT ROWID, STRICT")
    assert s.temp and s.if_not_exists and s.schema == "main" and s.name == "t3"
    assert s.without_rowid and s.strict
    a, b, c, d, e, f = s.columns
    assert a.type_name == "INTEGER"
    pk = a.constraints[0]
    assert pk.__class__ is A.ColPrimaryKey and pk.desc and pk.conflict == "REPLACE" and pk.autoincrement
    assert b.type_name == "VARCHAR(10)"
    assert [x.__class__ for x in b.constraints] == [A.ColNotNull, A.ColUnique, A.ColCollate, A.ColDefault]
    assert b.constraints[0].name == "nn" and b.constraints[2].collation == "nocase"
    assert b.constraints[3].text == "-1" and b.constraints[3].expr.op == "-"
    assert c.type_name == "DECIMAL(10, 2)"
    fk = c.constraints[1].fk
    assert (fk.table, fk.columns, fk.on_delete, fk.deferred) == ("t1", ["a"], "CASCADE", True)
    assert d.type_name == "" and d.constraints[0].stored
    assert e.constraints[0].text == "1 + 2"
    assert f.type_name == "unsigned big int"
    pk, uq, ck, tfk = s.constraints
    assert [(t.expr.name, t.desc) for t in pk.columns] == [("a", False), ("b", True)]
    assert uq.conflict == "ABORT" and ck.expr.op == "<"
    assert tfk.name == "fk" and tfk.columns == ["c", "d"] and tfk.fk.columns == ["x", "y"]


def test_check_text_is_sqlite_constraint_label():
    sql = "CREATE TABLE t3(a CHECK ( a > 0 /* pos */ ), b, CHECK(b <>  a))"
    s = one(sql)
    assert [s.columns[0].constraints[0].text, s.constraints[0].text] == ["a > 0 /* pos */", "b <>  a"]
    con = sqlite3.connect(":memory:")
    con.execute(sql)
    for row, label in (("0, 1", s.columns[0].constraints[0].text), ("1, 1", s.constraints[0].text)):
        with pytest.raises(sqlite3.IntegrityError) as info:
            con.execute(f"INSERT INTO t3 VALUES ({row})")
        assert str(info.value) == f"CHECK constraint failed: {label}"


def test_create_table_as_select():
    s = one("CREATE TABLE t3 AS SELECT 1 AS a")
    assert s.columns is None and s.select is not None and s.sql is None


def test_column_defaults_match_table_info():
    sql = ("CREATE TABLE t3(a DEFAULT -1, b DEFAULT + 2.5, c DEFAULT 'x', d DEFAULT (1+ 2), "
           "e DEFAULT CURRENT_TIMESTAMP, f DEFAULT NULL, g DEFAULT x'00', h DEFAULT true, i DEFAULT abc, "
           "j VARCHAR( 10 ), k DOUBLE   PRECISION, l \"my type\", m DEFAULT ( 1 /* c */ ))")
    con = sqlite3.connect(":memory:")
    con.execute(sql)
    info = con.execute("PRAGMA table_info(t3)").fetchall()
    s = one(sql)
    for col, row in zip(s.columns, info):
        defaults = [c for c in col.constraints if c.__class__ is A.ColDefault]
        assert (col.name, col.type_name, defaults[0].text if defaults else None) == (row[1], row[2], row[4])
    values = [c.constraints[0].expr for c in s.columns[:9]]
    assert values[7].kind == A.LIT_TRUE and values[8].value == "abc"
    assert values[4].kind == A.LIT_CURRENT_TIMESTAMP


def test_generated_columns():
    s = one("CREATE TABLE t3(a, b INT GENERATED ALWAYS AS (a * 2) VIRTUAL, c AS (a) STORED)")
    assert not s.columns[1].constraints[0].stored and s.columns[2].constraints[0].stored
    assert s.columns[1].type_name == "INT"


def test_create_virtual_table():
    sql = 'create virtual table if not exists main.x using fts5(a, b , tokenize = "porter ascii", prefix = "2")  /* c */'
    s = one(sql)
    assert (s.if_not_exists, s.schema, s.name, s.module) == (True, "main", "x", "fts5")
    assert s.args == ["a", "b", 'tokenize = "porter ascii"', 'prefix = "2"']
    assert one("CREATE VIRTUAL TABLE r USING rtree(id, f(x, y), z)").args == ["id", "f(x, y)", "z"]
    con = sqlite3.connect(":memory:")
    con.execute(sql)
    assert con.execute("SELECT sql FROM sqlite_master WHERE name = 'x'").fetchone()[0] == s.sql
    assert one("CREATE VIRTUAL TABLE w USING fts4").args is None


def test_create_index_view_trigger_shapes():
    s = one("CREATE UNIQUE INDEX IF NOT EXISTS main.i2 ON t1(b COLLATE nocase DESC, c + 1) WHERE a > 0")
    assert s.unique and s.if_not_exists and (s.schema, s.name, s.table) == ("main", "i2", "t1")
    assert s.columns[0].expr.__class__ is A.Collate and s.columns[0].desc
    assert s.columns[1].expr.op == "+" and s.where.op == ">"
    v = one("CREATE TEMP VIEW IF NOT EXISTS v2(x, y) AS SELECT a, b FROM t1")
    assert v.temp and v.columns == ["x", "y"] and v.select.cores[0].from_[0].name == "t1"
    t = one("CREATE TRIGGER tr BEFORE UPDATE OF b, c ON t1 FOR EACH ROW WHEN new.a > 1 BEGIN "
            "UPDATE t2 SET a = new.a; INSERT INTO t2 VALUES (1); DELETE FROM t2; SELECT 1; END")
    assert (t.time, t.event, t.columns, t.table, t.for_each_row) == ("BEFORE", "UPDATE", ["b", "c"], "t1", True)
    assert t.when.op == ">"
    assert [b.__class__ for b in t.body] == [A.Update, A.Insert, A.Delete, A.Select]
    t = one("CREATE TRIGGER tr INSTEAD OF DELETE ON v1 BEGIN SELECT RAISE(IGNORE); END")
    assert t.time == "INSTEAD OF" and t.event == "DELETE" and not t.for_each_row
    assert one("CREATE TRIGGER tr INSERT ON t1 BEGIN SELECT 1; END").time is None


def test_schema_text_matches_sqlite_master():
    script = [
        "create table t(a)  -- hi\n",
        "create index main.i on t(a) where a > 1 /*x*/ ",
        "create trigger main.tr before delete on t for each row begin delete from t; /*c*/ end /*d*/",
        'create view main."v w"(x) as select 1 /*q*/',
        "create table t2(a int primary key) without rowid, strict",
        "create table t3(a int)strict",
        "create index i1 on t(a) /*x*/ ;",
        "create index i3 on t(a)  ",
        "create view v1 as select 1 /*q*/  ;",
        "create view v3 as select 1 -- z\n  ;",
        "create index i5 on t(a) -- z\n",
        "create trigger tr2 before delete on t begin select 1; end  ;",
        "create table t5(a) /*x*/;",
        "create index i6 on t(a)\n;",
        "CREATE TEMP TABLE IF NOT EXISTS [t 6] (a)",
        "create unique index if not exists i7 on t(a)",
        "CrEaTe   TaBlE t7(a)",
        "create temp view v5 as select 1\t\n",
        "create table 't8'(x)",
    ]
    con = sqlite3.connect(":memory:")
    got = []
    for sql in script:
        con.executescript(sql)
        got.append(one(sql).sql)
    want = [r[0] for r in con.execute(
        "SELECT sql FROM sqlite_master UNION ALL SELECT sql FROM sqlite_temp_master")]
    assert sorted(got) == sorted(want)


def test_result_column_text_is_sqlite_column_name():
    sql = ("SELECT 1+2, a   *  2, count(*) filter (where 1), -9223372036854775808, x'0a', "
           "'s''q', CAST(a AS text), (SELECT 1), ? FROM t1")
    con = _sqlite(sql)
    names = [d[0] for d in con.execute(sql, (1,)).description]
    assert [c.text for c in one(sql).cores[0].columns] == names


@pytest.mark.parametrize("sql", ["SELECT 1 -- trailing comment", "SELECT /* a */ 1 /* b */ FROM t1",
                                 "SELECT 1 /* c */\n, 2\t;"])
def test_result_column_text_keeps_comments_up_to_the_next_token(sql):
    names = [d[0] for d in _sqlite(sql).execute(sql).description]
    assert [c.text for c in one(sql).cores[0].columns] == names


def test_other_statements():
    assert one("DROP TABLE IF EXISTS main.t1").__class__ is A.Drop
    d = one("DROP TRIGGER tr")
    assert (d.kind, d.if_exists, d.schema, d.name) == ("TRIGGER", False, None, "tr")
    a = one("ALTER TABLE main.t1 RENAME COLUMN b TO c")
    assert (a.schema, a.table, a.action, a.column, a.new_name) == ("main", "t1", "RENAME COLUMN", "b", "c")
    assert one("ALTER TABLE t1 RENAME TO t9").new_name == "t9"
    a = one("ALTER TABLE t1 ADD COLUMN d TEXT NOT NULL DEFAULT ''")
    assert a.action == "ADD COLUMN" and a.column_def.name == "d" and a.column_def.type_name == "TEXT"
    assert one("ALTER TABLE t1 DROP b").column == "b"
    assert [one(s).mode for s in ("BEGIN", "BEGIN DEFERRED", "BEGIN IMMEDIATE TRANSACTION",
                                  "BEGIN EXCLUSIVE", "BEGIN CONCURRENT")] == [
        None, "DEFERRED", "IMMEDIATE", "EXCLUSIVE", "CONCURRENT"]
    assert one("END TRANSACTION").__class__ is A.Commit
    assert one("ROLLBACK TO SAVEPOINT sp").savepoint == "sp"
    assert one("ROLLBACK").savepoint is None
    assert one("SAVEPOINT sp").name == "sp" and one("RELEASE SAVEPOINT sp").name == "sp"
    p = one("PRAGMA main.cache_size = -2000")
    assert (p.schema, p.name, p.value) == ("main", "cache_size", -2000)
    assert one("PRAGMA table_info('t1')").value == "t1"
    assert one("PRAGMA journal_mode=WAL").value == "WAL"
    assert one("PRAGMA user_version").value is None
    e = one("EXPLAIN QUERY PLAN SELECT ?")
    assert e.query_plan and e.stmt.__class__ is A.Select
    assert (e.pos, e.stmt.pos, e.param_count, e.stmt.param_count) == (0, 19, 1, 1)
    assert not one("EXPLAIN SELECT 1").query_plan
    at = one("ATTACH DATABASE 'f.db' AS aux KEY 'k'")
    assert at.expr.value == "f.db" and at.schema.name == "aux" and at.key.value == "k"
    assert one("DETACH aux").schema.name == "aux"
    v = one("VACUUM main INTO 'x.db'")
    assert v.schema == "main" and v.into.value == "x.db"
    assert (one("ANALYZE main.t1").schema, one("ANALYZE t1").name) == ("main", "t1")
    assert one("REINDEX").name is None


def test_parse_one_returns_the_tail_offset():
    sql = "SELECT 1; SELECT 2 ;  "
    s, end = parse_one(sql)
    assert s.cores[0].columns[0].expr.value == 1 and sql[end:] == " SELECT 2 ;  "
    s, end2 = parse_one(sql, end)
    assert s.pos == 10 and sql[end2:] == "  "
    assert parse_one(sql, end2) == (None, len(sql))


def test_empty_statements_are_skipped():
    s, end = parse_one(" ;; SELECT 1;;")
    assert s.__class__ is A.Select and end == 13
    assert parse_one("-- only a comment") == (None, 17)
    assert parse(";;") == []


def test_parse_returns_all_statements_including_trigger_bodies():
    stmts = parse("CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN SELECT 1; SELECT 2; END; SELECT 3")
    assert [s.__class__ for s in stmts] == [A.CreateTrigger, A.Select]
    assert len(stmts[0].body) == 2


def test_keywords_as_names():
    s = one("CREATE TABLE key(action, replace, temp, if, \"select\", [from], left)")
    assert s.name == "key"
    assert [c.name for c in s.columns] == ["action", "replace", "temp", "if", "select", "from", "left"]
    s = one("SELECT key, action AS offset FROM t1 AS replace")
    assert [c.expr.name for c in s.cores[0].columns] == ["key", "action"]
    assert s.cores[0].columns[1].alias == "offset" and s.cores[0].from_[0].alias == "replace"


def test_dump_ignores_positions():
    a = one("SELECT a+1 FROM t1")
    b = one("SELECT   a +1 FROM t1")
    assert A.dump(a) == A.dump(b)
    assert A.dump(a) != A.dump(one("SELECT a+2 FROM t1"))
