"""Triggers, foreign keys and savepoints across temp and attached databases, and deep
trigger recursion, against sqlite3.

Each script runs statement by statement on both engines; every statement's rows, or
its error class and message, must match (the schema text SQLite stores included).
"""

import sqlite3
import sys

import pytest

import limbodb

SCHEMA = "select type, name, tbl_name, sql from sqlite_temp_master order by name"

TEMP_TRIGGERS_ON_ATTACHED = [
    "attach ':memory:' as aux",
    "create table aux.t(a)",
    "create table log(x)",
    "create table t(m)",
    "create temp trigger ta after insert on aux.t begin insert into log values(new.a); end",
    "create temp trigger tb after insert on aux.t begin insert into log values(new.a * 10); end",
    "create temp trigger tm after insert on main.t begin insert into log values(new.m + 100); "
    "insert into aux.t values(-new.m); end",
    "create temp trigger tl after insert on log when new.x = 0 begin insert into aux.t values(1000); "
    "update t set m = m + 1; end",
    "create temp trigger tu before update on aux.t begin select raise(abort, 'frozen') where old.a = 7; end",
    "insert into aux.t values(1)",
    "insert into t values(2)",
    "insert into log values(0)",
    "insert into aux.t values(7)",
    "update aux.t set a = 8 where a = 7",
    "update aux.t set a = 9 where a = 1",
    "select * from log order by rowid",
    "select * from aux.t order by rowid",
    SCHEMA,
]

# Ordering: the table's own triggers fire newest first; temp triggers on it before them, oldest first.
TRIGGER_ORDER = [
    "create table t(a)",
    "create table log(x)",
    "create trigger m1 after insert on t begin insert into log values('m1'); end",
    "create temp trigger t1 after insert on t begin insert into log values('t1'); end",
    "create trigger m2 after insert on t begin insert into log values('m2'); end",
    "create temp trigger t2 after insert on t begin insert into log values('t2'); end",
    "create temp trigger t3 after insert on t begin insert into log values('t3'); end",
    "insert into t values(1)",
    "select * from log order by rowid",
]

DROP_AND_RENAME = [
    "attach ':memory:' as aux",
    "create table aux.t(a)",
    "create table log(x)",
    "create table t(m)",
    "create temp trigger ta after insert on aux.t begin insert into log values(new.a); end",
    "create temp trigger tq after insert on t begin insert into log values(new.m); end",
    "create temp trigger tm after insert on main.t begin insert into log values(new.m + 100); "
    "insert into aux.t values(-new.m); end",
    "create temp view v as select * from aux.t, main.t",
    "alter table aux.t rename to u",
    SCHEMA,
    "insert into aux.u values(7)",
    "alter table t rename to t3",
    SCHEMA,
    "insert into t3 values(2)",
    "select * from log order by rowid",
    "select * from aux.u order by rowid",
    "select count(*) from v",
    "drop table aux.u",
    SCHEMA,
    "drop table t3",
    SCHEMA,
    "create table aux.w(a)",
    "create temp trigger tw before delete on aux.w begin select raise(abort, 'no'); end",
    "insert into aux.w values(1)",
    "delete from aux.w",
    "begin",
    "insert into aux.w values(2)",
    "savepoint s",
    "drop table aux.w",
    SCHEMA,
    "rollback to s",
    SCHEMA,
    "delete from aux.w",
    "commit",
    "select * from aux.w order by a",
]

VIEWS_AND_COLUMNS = [
    "attach ':memory:' as aux",
    "create table t(a)",
    "create view v as select a from t",
    "create table log(x)",
    "create temp trigger tv instead of insert on v begin insert into log values(new.a); end",
    "insert into v values(3)",
    "drop view v",
    SCHEMA,
    "create table aux.b(a, c)",
    "create table aux.alog(x)",
    "insert into aux.b values(1, 2), (3, 4)",
    "create view aux.av as select a, c from b",
    "create view av as select 'main' as a",
    "insert into aux.av values(9, 9)",
    "create trigger aux.ti instead of insert on av begin insert into alog values('i' || new.a); end",
    "create trigger aux.tu instead of update on av begin insert into alog values('u' || old.a || '>' || new.a); end",
    "create trigger aux.td instead of delete on av begin insert into alog values('d' || old.a); end",
    "create temp trigger tt instead of delete on aux.av begin insert into log values('t' || old.a); end",
    "insert into aux.av values(7, 8)",
    "update aux.av set a = a + 10 where c = 4",
    "delete from aux.av where a = 1",
    "insert into av values(5)",
    "insert into aux.av values(6, 6) returning *",
    "delete from aux.av where a = 3 returning a, c",
    "drop view aux.av",
    SCHEMA,
    "create table c(a, b)",
    "create temp trigger tc after update of a on c begin insert into log values(new.a); end",
    "alter table c rename column a to z",
    SCHEMA,
    "insert into c values(1, 2)",
    "update c set z = 5",
    "select * from aux.alog order by rowid",
    "select * from log order by rowid",
]

FOREIGN_KEYS = [
    "pragma foreign_keys=on",
    "attach ':memory:' as aux",
    "create table p(id integer primary key, v)",
    "insert into p values(7, 'main')",
    "create table aux.p(id integer primary key, v)",
    "create table aux.c(x references p(id) on delete cascade on update cascade, y)",
    "create table aux.d(x references p(id) on delete set null)",
    "create table aux.e(x default 1 references p(id) on delete set default)",
    "insert into aux.p values(1, 'a'), (2, 'b')",
    "insert into aux.c values(1, 'c1'), (2, 'c2')",
    "insert into aux.d values(1)",
    "insert into aux.e values(2)",
    # The parent is aux.p, not main.p: 7 is missing there.
    "insert into aux.c values(7, 'x')",
    "delete from aux.p where id = 1",
    "select * from aux.c order by rowid",
    "select * from aux.d",
    "update aux.p set id = 5 where id = 2",
    "select * from aux.c order by rowid",
    "delete from aux.p where id = 5",
    "select * from aux.e",
    "create temp table tp(id integer primary key)",
    "create temp table tc(x references tp)",
    "insert into tc values(1)",
    "insert into tp values(1)",
    "insert into tc values(1)",
    "delete from tp",
    "create temp table tq(x references p)",
    "insert into tq values(7)",
    "create table aux.bad(x references nosuch)",
    "insert into aux.bad values(1)",
    "pragma aux.foreign_key_list(c)",
    "pragma foreign_key_list(c)",
    "pragma temp.foreign_key_list(tc)",
    "pragma temp.foreign_key_list(c)",
    "pragma aux.foreign_key_check(nosuch)",
    "pragma aux.foreign_key_check(tc)",
    "pragma foreign_key_check(nosuch)",
    "pragma foreign_keys=off",
    "insert into tc values(9)",
    "insert into aux.c values(3, 'orphan')",
    "insert into aux.p values(8, 'b')",
    "pragma foreign_key_check",
    "pragma main.foreign_key_check",
    "pragma temp.foreign_key_check",
    "pragma aux.foreign_key_check",
    "pragma aux.foreign_key_check(c)",
    "pragma foreign_key_check(c)",
    "pragma foreign_key_check(tc)",
    "delete from aux.c where y = 'orphan'",
    "pragma foreign_keys=on",
    "begin",
    "create table aux.dp(x references p deferrable initially deferred)",
    "insert into aux.dp values(99)",
    "commit",
    "rollback",
    "create table aux.rp(id integer primary key)",
    "create table aux.rc(x references rp)",
    "insert into aux.rp values(1)",
    "insert into aux.rc values(1)",
    "drop table aux.rp",
    "select count(*) from aux.rp",
]

SAVEPOINTS = [
    "attach ':memory:' as aux",
    "create table aux.t(a)",
    "create temp table tt(a)",
    "create table m(a)",
    "savepoint a",
    "insert into aux.t values(1)",
    "savepoint b",
    "insert into tt values(1)",
    "insert into aux.t values(2)",
    "insert into m values(2)",
    "savepoint c",
    "insert into aux.t values(3)",
    "create temp table t2(x)",
    "insert into t2 values(1)",
    "create table aux.n(x)",
    "rollback to c",
    "select * from aux.t order by a",
    "select * from tt",
    "select name from sqlite_temp_master order by name",
    "select name from aux.sqlite_master order by name",
    "select * from t2",
    "select * from aux.n",
    "insert into aux.t values(4)",
    "release c",
    "rollback to b",
    "select * from aux.t order by a",
    "select * from tt",
    "select * from m",
    "insert into tt values(5)",
    "release a",
    "select * from aux.t order by a",
    "select * from tt",
    "begin",
    "insert into tt values(6)",
    "savepoint x",
    "insert into tt values(7)",
    "rollback",
    "select * from tt order by a",
    # Writes made by a temp trigger's body are undone too.
    "create temp trigger tr after insert on m begin insert into tt values(new.a * 100); "
    "insert into aux.t values(new.a); end",
    "begin",
    "insert into m values(1)",
    "savepoint y",
    "insert into m values(9)",
    "select * from tt order by a",
    "rollback to y",
    "select * from tt order by a",
    "select * from aux.t order by a",
    "select * from m order by a",
    "commit",
    "select * from tt order by a",
    "select * from aux.t order by a",
]

RECURSION = [
    "pragma recursive_triggers=on",
    "create table t(a)",
    "create trigger tr after insert on t when new.a < 1000 begin insert into t values(new.a + 1); end",
    # 1000 nested frames is SQLite's limit: allowed.
    "insert into t values(1)",
    "select count(*), max(a), sum(a) from t",
    "select last_insert_rowid(), changes(), total_changes()",
    "delete from t",
    # 1001 frames: the statement fails and (autocommit) leaves nothing behind.
    "insert into t values(0)",
    "select count(*) from t",
    "create table u(a)",
    "create trigger tu before insert on u when new.a < 2000 begin insert into u values(new.a + 1); end",
    "insert into u values(1001)",
    "select count(*), min(a), max(a) from u",
    "insert into u values(1000)",
    "select count(*) from u",
    "create table x(a)",
    "create table y(a)",
    "create trigger tx after insert on x when new.a > 0 begin insert into y values(new.a - 1); end",
    "create trigger ty after insert on y when new.a > 0 begin insert into x values(new.a - 1); end",
    "insert into x values(999)",
    "select count(*), sum(a) from x",
    "select count(*), sum(a) from y",
    "insert into x values(1000)",
    "select count(*) from x",
    "create table d(a integer primary key)",
    "create trigger td after delete on d when old.a > 1 begin delete from d where a = old.a - 1; end",
    "with recursive c(i) as (select 1 union all select i + 1 from c where i < 1000) insert into d select i from c",
    "delete from d where a = 1000",
    "select count(*) from d",
    "pragma recursive_triggers=off",
    "insert into t values(-5)",
    "select count(*) from t",
]

# A foreign key action is a trigger in SQLite: each parent row with one takes a frame.
FOREIGN_KEY_ACTION_DEPTH = [
    "pragma foreign_keys=on",
    "create table n(id integer primary key, parent references n(id) on delete cascade on update cascade)",
    "create index n_parent on n(parent)",
    "with recursive c(i) as (select 1 union all select i + 1 from c where i < 1000) "
    "insert into n select i, nullif(i - 1, 0) from c",
    "update n set id = -1 where id = 1",
    "select count(*), min(parent) from n",
    "delete from n where id = -1",
    "select count(*) from n",
    "select changes(), total_changes()",
    "with recursive c(i) as (select 1 union all select i + 1 from c where i < 1001) "
    "insert into n select i, nullif(i - 1, 0) from c",
    "delete from n where id = 1",
    "select count(*) from n",
    "create table r(id integer primary key, p references r(id) on delete restrict)",
    "insert into r values(1, null), (2, 1)",
    "delete from r where id = 1",
    "delete from r where id = 2",
    "delete from r where id = 1",
    "create table s(id integer primary key, p references s(id) on delete set null)",
    "insert into s values(1, null), (2, 1), (3, 2)",
    "delete from s where id = 1",
    "select * from s order by id",
]


def _replace_script(recursive):
    return [
        f"pragma recursive_triggers={recursive}",
        "create table t(a primary key, b unique, c)",
        "create table log(x)",
        "create trigger bd before delete on t begin insert into log values('bd ' || old.a || old.b); end",
        "create trigger ad after delete on t begin insert into log values('ad ' || old.a || old.b); end",
        "create trigger ai after insert on t begin insert into log values('ai ' || new.a || new.b); end",
        "insert into t values(1, 'x', 0)",
        "insert or replace into t values(1, 'y', 0)",
        "insert into t values(2, 'z', 0)",
        "replace into t values(3, 'z', 0)",
        "update or replace t set a = 1 where a = 3",
        "select * from log order by rowid",
        "select * from t order by a",
        "select changes(), total_changes()",
        "create table r(id integer primary key, v)",
        "create trigger rd after delete on r begin insert into log values('rd ' || old.id || old.v); end",
        "create trigger rb before delete on r when old.v = 'keep' begin select raise(ignore); end",
        "insert into r values(1, 'a')",
        "insert or replace into r values(1, 'b')",
        "insert into r values(2, 'keep')",
        # RAISE(IGNORE) kept the row: the rowid still conflicts.
        "insert or replace into r values(2, 'new')",
        "select * from r order by id",
        "create table s(id integer primary key, v unique)",
        "create trigger sd before delete on s begin update s set v = v || '!' where id = old.id; end",
        "insert into s values(1, 'a')",
        "insert or replace into s values(2, 'a')",
        "select * from s order by id",
        "create table w(k primary key, v unique) without rowid",
        "create trigger wd after delete on w begin insert into log values('wd ' || old.k || old.v); end",
        "create trigger wb before delete on w when old.v = 'keep' begin select raise(ignore); end",
        "insert into w values(1, 'a'), (2, 'b')",
        "insert or replace into w values(1, 'c')",
        "insert or replace into w values(3, 'b')",
        "update or replace w set v = 'c' where k = 3",
        "insert into w values(5, 'keep')",
        "insert or replace into w values(5, 'x')",
        "insert or replace into w values(6, 'keep')",
        "select * from w order by k",
        "select * from log order by rowid",
    ]


def _run(module, script):
    conn = module.connect(":memory:", isolation_level=None)
    out = []
    for sql in script:
        try:
            out.append(("rows", conn.execute(sql).fetchall()))
        except module.Error as e:
            out.append(("error", type(e).__name__, str(e)))
    conn.close()
    return out


def _same(script):
    expect = _run(sqlite3, script)
    got = _run(limbodb, script)
    for sql, e, g in zip(script, expect, got):
        assert g == e, sql


@pytest.mark.parametrize("script", [TEMP_TRIGGERS_ON_ATTACHED, TRIGGER_ORDER, DROP_AND_RENAME, VIEWS_AND_COLUMNS,
                                    FOREIGN_KEYS, SAVEPOINTS, RECURSION, FOREIGN_KEY_ACTION_DEPTH, _replace_script(1),
                                    _replace_script(0)],
                         ids=["temp-triggers-on-attached", "trigger-order", "drop-and-rename", "views-and-columns",
                              "foreign-keys", "savepoints", "recursion", "foreign-key-action-depth",
                              "replace-recursive", "replace-not-recursive"])
def test_script_matches_sqlite(script):
    _same(script)


def test_trigger_recursion_does_not_use_the_python_stack():
    """1000 nested trigger frames run with a Python stack far shallower than 1000 calls."""
    c = limbodb.connect(":memory:", isolation_level=None)
    c.execute("pragma recursive_triggers = 1")
    c.execute("create table t(a)")
    c.execute("create trigger tr after insert on t when new.a < 1000 begin insert into t values(new.a + 1); end")
    c.execute("select 1").fetchall()
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 300)
    try:
        c.execute("insert into t values(1)")
    finally:
        sys.setrecursionlimit(limit)
    assert c.execute("select count(*), max(a) from t").fetchall() == [(1000, 1000)]
    with pytest.raises(limbodb.OperationalError, match="^too many levels of trigger recursion$"):
        c.execute("insert into t values(0)")
    assert c.execute("select count(*) from t").fetchall() == [(1000,)]
    c.close()


def test_foreign_key_cascade_does_not_use_the_python_stack():
    """A 1000-level ON DELETE CASCADE chain runs with a Python stack far shallower than that."""
    c = limbodb.connect(":memory:", isolation_level=None)
    c.execute("pragma foreign_keys = 1")
    c.execute("create table n(id integer primary key, parent references n(id) on delete cascade)")
    c.execute("create index n_parent on n(parent)")
    c.execute("with recursive c(i) as (select 1 union all select i + 1 from c where i < 1000) "
              "insert into n select i, nullif(i - 1, 0) from c")
    c.execute("select 1").fetchall()
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 300)
    try:
        c.execute("delete from n where id = 1")
    finally:
        sys.setrecursionlimit(limit)
    assert c.execute("select count(*) from n").fetchall() == [(0,)]
    c.close()


def test_temp_trigger_on_attached_table_survives_reopening_the_file(tmp_path):
    """The trigger lives in temp: the attached file, reopened in sqlite3, has no trigger."""
    path = tmp_path / "aux.db"
    c = limbodb.connect(":memory:", isolation_level=None)
    c.execute(f"attach '{path}' as aux")
    c.execute("create table aux.t(a)")
    c.execute("create table aux.log(x)")
    c.execute("create temp trigger tr after insert on aux.t begin insert into log values(new.a); end")
    c.execute("insert into aux.t values(3)")
    c.close()
    other = sqlite3.connect(path)
    assert other.execute("select type, name from sqlite_schema order by name").fetchall() == \
        [("table", "log"), ("table", "t")]
    assert other.execute("select * from log").fetchall() == [(3,)]
    assert other.execute("pragma integrity_check").fetchall() == [("ok",)]
    other.close()
