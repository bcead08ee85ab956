"""Triggers: the same rows, value types, errors and sqlite_schema text as sqlite3, and file interop."""

import sqlite3

import pytest

import limbodb


def _typed(rows):
    return [tuple((type(v).__name__, v) for v in r) for r in rows]


def _run(mod, path, script):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for s in script:
        try:
            out.append((s, _typed(c.execute(s).fetchall())))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e)))
    out.append(c.execute("SELECT * FROM sqlite_schema ORDER BY name").fetchall())
    c.close()
    return out


def _same(tmp_path, script):
    mine = _run(limbodb, tmp_path / "l.db", script)
    theirs = _run(sqlite3, tmp_path / "s.db", script)
    for m, t in zip(mine, theirs):
        assert m == t
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    return mine


BASIC = [
    "CREATE TABLE t(id integer primary key, a, b)",
    "CREATE TABLE log(x, y, z)",
    "CREATE TRIGGER tr1 BEFORE INSERT ON t BEGIN insert into log values(new.id, new.rowid, new.a); END",
    "create trigger tr2 after insert on t for each row when new.a > 3 begin "
    "insert into log values('after', new.id, new.a); end",
    "insert into t(a) values(5)",
    "insert into t values(7, 1, 2)",
    "select * from log",
    "create trigger tu after update of a on t begin insert into log values(old.a, new.a, old.rowid); end",
    "update t set a = a + 10",
    "update t set b = 3",
    "create trigger td before delete on t begin insert into log values('del', old.id, old.a); end",
    "delete from t where id = 7",
    "select * from log",
    "select * from t",
    "select changes(), total_changes(), last_insert_rowid()",
]

RAISE = [
    "create table t(a, b)",
    "create table f(a)",
    "create trigger ab before delete on t begin select raise(abort, 'no way'); end",
    "insert into t values(1, 2), (3, 4)",
    "delete from t",
    "select * from t",
    "create trigger ig before insert on t when new.a < 0 begin select raise(ignore); end",
    "insert into t values(-1, 0), (5, 6), (-2, 0)",
    "select * from t",
    "select raise(ignore)",
    "select raise(abort, 'x')",
    "create trigger ff before insert on f begin select case when new.a = 1 then raise(fail, 'failed') "
    "when new.a = 2 then raise(rollback, 'rolled') when new.a = 3 then raise(abort, 'aborted') end; end",
    "insert into f values(0), (0), (1), (0)",
    "select count(*) from f",
    "insert into f values(0), (3)",
    "select count(*) from f",
    "begin",
    "insert into f values(5)",
    "insert into f values(3)",
    "select count(*) from f",
    "insert into f values(2)",
    "select count(*) from f",
    "commit",
    "create table g(a)",
    "create trigger gi after insert on g begin insert into t values(new.a, 0); end",
    "insert into g values(-5), (8)",
    "select * from g",
    "select * from t",
]

ORDER_AND_NESTING = [
    "create table t(a, b)",
    "create table log(x)",
    "create table other(y)",
    "create trigger t1 after insert on t begin insert into log values('t1'); end",
    "create trigger t2 after insert on t begin insert into log values('t2'); "
    "insert into other values(new.a); end",
    "create trigger t3 before insert on t begin "
    "insert into log values((select count(*) from t where a = new.a)); end",
    "create trigger o1 after insert on other begin insert into log values('other ' || new.y); end",
    "insert into t values(1, 2)",
    "insert into t select a + 1, b from t",
    "select rowid, * from log",
    "select changes(), total_changes()",
    "create table u(a integer, b text)",
    "create trigger bu before insert on u begin insert into log values(typeof(new.a) || typeof(new.b)); end",
    "insert into u values('5', 6)",
    "select x from log where rowid > 10",
]

RECURSION = [
    "create table r(n)",
    "create trigger rr after insert on r when new.n < 5 begin insert into r values(new.n + 1); end",
    "insert into r values(1)",
    "select * from r",
    "pragma recursive_triggers",
    "pragma recursive_triggers = 1",
    "pragma recursive_triggers",
    "insert into r values(1)",
    "select * from r",
    "pragma recursive_triggers = 0",
    "insert into r values(2)",
    "select * from r",
]

DDL_ERRORS = [
    "create table t(a, b)",
    "create table log(x)",
    "create view v as select a from t",
    "create trigger x instead of insert on t begin select 1; end",
    "create trigger x before insert on v begin select 1; end",
    "create trigger x after update on v begin select 1; end",
    "create trigger x before insert on nosuch begin select 1; end",
    "create trigger x before insert on t begin insert into main.log values(1); end",
    "create trigger x before insert on sqlite_master begin select 1; end",
    "create trigger sqlite_x before insert on t begin select 1; end",
    "create trigger t1 before insert on t begin select 1; end",
    "create trigger t1 before insert on t begin select 1; end",
    "create trigger if not exists t1 before insert on t begin select 2; end",
    "create trigger bad before insert on log begin select new.zz; end",
    "insert into log values(1)",
    "drop trigger bad",
    "create trigger x before delete on t begin select new.a; end",
    "delete from t",
    "drop trigger x",
    "create trigger x2 before insert on t begin select old.a; end",
    "insert into t values(9, 9)",
    "drop trigger x2",
    "drop trigger x2",
    "drop trigger if exists x2",
    "DROP TRIGGER main.t1",
    "create table d(a)",
    "create trigger dt after insert on d begin select 1; end",
    "drop table d",
]

VIEWS = [
    "create table t(id integer primary key, a, b)",
    "create view v as select id, a from t",
    "insert into v values(1, 2)",
    "update v set a = 1",
    "delete from v",
    "create trigger vi instead of insert on v begin insert into t values(new.id + 100, new.a, 'v'); end",
    "insert into v values(1, 2)",
    "insert into v(a) values(9)",
    "insert into v select 5, 6",
    "insert into v(a, b) values(1, 2)",
    "insert into v values(1)",
    "update v set a = 1",
    "create trigger vu instead of update of a on v begin update t set a = new.a where id = old.id; end",
    "update v set a = 42 where id = 101",
    "update v set id = 5",
    "create trigger vd instead of delete on v begin delete from t where id = old.id; end",
    "delete from v where a = 42",
    "select * from t",
    "select changes()",
    "drop view v",
]

UPDATE_REREAD = [
    "create table t(a integer primary key, b, c)",
    "create index tb on t(b)",
    "create index tc on t(c)",
    "insert into t values(1, 10, 100), (2, 20, 200)",
    "create trigger bu before update of b on t begin update t set c = c + 1 where a = old.a; end",
    "update t set b = b + 1",
    "select * from t order by a",
    "select * from t where c = 101",
    "create trigger bd before delete on t when old.a = 1 begin delete from t where a = 1; end",
    "delete from t",
    "select * from t",
]

NEW_OLD_VALUES = [
    "create table t(a integer, b text collate nocase)",
    "create table log(x)",
    "create trigger tr after insert on t when new.a = '5' begin insert into log values('five'); end",
    "create trigger tr2 after insert on t when new.b = 'ABC' begin insert into log values('abc'); end",
    "create trigger tr3 after insert on t begin insert into log select 1 where new.a < '10'; end",
    "create trigger tr4 before update on t begin "
    "insert into log values(typeof(old.a) || typeof(new.a) || new.b || old.b); end",
    "insert into t values(5, 'abc')",
    "update t set a = '7', b = upper(b)",
    "select * from log",
]

CONFLICT_CLAUSES = [
    "create table t(a)",
    "create table u(x unique)",
    "insert into u values(1)",
    "create trigger ti after insert on t begin insert into u values(new.a); end",
    "create table k(a primary key, b)",
    "insert into k values(1, 'x')",
    "create trigger ku after update on k begin insert into u values(100 + new.a); end",
    "insert or ignore into t values(1)",
    "select * from t",
    "insert into k values(1, 'y') on conflict(a) do update set b = excluded.b",
    "select * from k",
    "select * from u",
    "insert into t values(1)",
    "replace into t values(1)",
    "select * from t",
    "update or ignore k set b = 'z'",
    "select * from k",
]

QUOTING_AND_TEXT = [
    'create table "my t"(a, "b c")',
    "create table log(x)",
    '-- leading comment\ncreate   trigger   "tr 1"   after   insert on "my t"\n  for each row\n'
    '  /* c */ when new."b c" is not null\nbegin\n  insert into log values(new."b c");  -- trailing\n'
    "  update log set x = x || '!' where x = new.a;\nend",
    "create trigger [tr2] before delete on `my t` begin delete from log; end",
    "insert into \"my t\" values('q', 'w')",
    "insert into \"my t\" values('w', 'e')",
    "select * from log",
    'delete from "my t" where a = \'q\'',
    "select * from log",
    "create table t(a)",
    "create trigger t_upd update on t begin select 1; end",
    "create trigger t_x after insert on t begin select 1 from nosuch; end",
    "insert into t values(1)",
    'drop table "my t"',
]

WITHOUT_ROWID = [
    "create table w(k text primary key, v integer, n) without rowid",
    "create index wv on w(v)",
    "create table log(x, y, z)",
    "create trigger wi before insert on w begin insert into log values('bi', new.k, new.v); end",
    "create trigger wa after insert on w when new.v > 5 begin insert into log values('ai', new.k, new.v); end",
    "create trigger wu before update on w begin insert into log values('bu', old.v, new.v); "
    "update w set n = coalesce(n, 0) + 1 where k = old.k; end",
    "create trigger wu2 after update of v on w begin insert into log values('au', old.k, new.n); end",
    "create trigger wd before delete on w begin insert into log values('bd', old.k, old.n); "
    "select raise(ignore) where old.k = 'c'; end",
    "create trigger wd2 after delete on w begin insert into log values('ad', old.k, old.v); end",
    "insert into w values('a', '3', null), ('b', 7, 1), ('c', 9, 2)",
    "update w set v = v + 1",
    "update w set n = 0 where k = 'b'",
    "select * from w",
    "delete from w where v > 4",
    "select * from w",
    "delete from w",
    "select * from w",
    "select * from log",
    "create trigger bad after insert on w begin insert into log values(new.rowid, 0, 0); end",
    "insert into w values('z', 1, 1)",
]

VIEW_ROWIDS = [
    "create table t(a)",
    "insert into t values(5), (6)",
    "create view v as select a from t",
    "create table log(x, y)",
    "create trigger vi instead of insert on v begin insert into log values(new.rowid, new.a); end",
    "create trigger vu instead of update on v begin insert into log values(old.rowid, new.rowid); end",
    "create trigger vd instead of delete on v begin insert into log values(old.rowid, 0); end",
    "insert into v values(1)",
    "update v set a = 1",
    "delete from v",
    "select * from log",
]


@pytest.mark.parametrize("script", [BASIC, RAISE, ORDER_AND_NESTING, RECURSION, DDL_ERRORS, VIEWS,
                                    UPDATE_REREAD, NEW_OLD_VALUES, CONFLICT_CLAUSES, QUOTING_AND_TEXT,
                                    WITHOUT_ROWID, VIEW_ROWIDS],
                         ids=["basic", "raise", "order", "recursion", "ddl-errors", "views", "update-reread",
                              "new-old-values", "conflict-clauses", "quoting-and-text", "without-rowid",
                              "view-rowids"])
def test_trigger_script_matches_sqlite(tmp_path, script):
    _same(tmp_path, script)


def test_unbounded_recursion_is_an_error(tmp_path):
    c = limbodb.connect(str(tmp_path / "r.db"), isolation_level=None)
    c.execute("create table r(n)")
    c.execute("pragma recursive_triggers = 1")
    c.execute("create trigger rr after insert on r begin insert into r values(new.n + 1); end")
    with pytest.raises(limbodb.OperationalError, match="too many levels of trigger recursion"):
        c.execute("insert into r values(1)")
    assert c.execute("select count(*) from r").fetchall() == [(0,)]
    c.close()


def test_last_insert_rowid_reverts_after_trigger(tmp_path):
    c = limbodb.connect(str(tmp_path / "l.db"), isolation_level=None)
    c.execute("create table t(a)")
    c.execute("create table log(x)")
    c.execute("insert into log values(1), (2), (3)")
    c.execute("create trigger ti after insert on t begin insert into log values(new.a); end")
    cur = c.execute("insert into t values(7)")
    assert cur.lastrowid == 1
    assert c.execute("select last_insert_rowid()").fetchall() == [(1,)]
    assert c.execute("select rowid, x from log where x = 7").fetchall() == [(4, 7)]
    c.close()


def test_triggers_written_by_limbodb_fire_in_sqlite3(tmp_path):
    path = str(tmp_path / "a.db")
    c = limbodb.connect(path, isolation_level=None)
    c.execute("create table t(a, b)")
    c.execute("create table log(x)")
    c.execute("create trigger ti after insert on t when new.a > 1 begin insert into log values(new.b); end")
    c.execute("insert into t values(2, 'mine')")
    c.close()
    s = sqlite3.connect(path, isolation_level=None)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    s.execute("insert into t values(1, 'no'), (3, 'theirs')")
    assert s.execute("select x from log").fetchall() == [("mine",), ("theirs",)]
    s.execute("create trigger td before delete on t begin select raise(abort, 'kept'); end")
    s.execute("create view v as select a, b from t")
    s.execute("create trigger vi instead of insert on v begin insert into log values(new.a || new.b); end")
    s.close()
    c = limbodb.connect(path, isolation_level=None)
    with pytest.raises(limbodb.IntegrityError, match="kept"):
        c.execute("delete from t")
    c.execute("insert into v values(1, 'x')")
    assert c.execute("select x from log where rowid = 3").fetchall() == [("1x",)]
    c.execute("drop view v")
    c.execute("drop trigger ti")
    c.execute("insert into t values(5, 'none')")
    assert c.execute("select count(*) from log").fetchall() == [(3,)]
    c.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("select name from sqlite_schema where type = 'trigger'").fetchall() == [("td",)]
    s.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_triggers_resume_under_simulated_io(seed):
    """Trigger bodies read cold pages, so their sub-programs wait on I/O mid-way and resume."""
    from limbodb.io import MemoryIO
    from limbodb.io.sim import SimulatedIO
    setup = [
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c)",
        "CREATE INDEX tb ON t(b)",
        "CREATE TABLE big(x)",
        "CREATE TABLE log(x, y)",
        "INSERT INTO big SELECT randomblob(500) FROM (WITH RECURSIVE s(value) AS "
        "(SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 200) SELECT value FROM s)",
        "CREATE TRIGGER ti AFTER INSERT ON t WHEN new.a % 7 = 0 BEGIN "
        "INSERT INTO log SELECT new.a, sum(length(x)) FROM big WHERE rowid % 50 = new.a % 50; "
        "UPDATE t SET c = randomblob(40) WHERE a = new.a - 1; END",
        "CREATE TRIGGER td BEFORE DELETE ON t BEGIN INSERT INTO log VALUES(old.a, length(old.c)); "
        "SELECT RAISE(IGNORE) WHERE old.a % 5 = 0; END",
    ]
    script = [
        "INSERT INTO t(b, c) SELECT 'k' || value, randomblob(30) FROM (WITH RECURSIVE s(value) AS "
        "(SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 300) SELECT value FROM s)",
        "BEGIN", "DELETE FROM t WHERE a % 3 = 0", "COMMIT",
        "SELECT count(*), sum(a) FROM t", "SELECT count(*), sum(x), sum(y) FROM log", "PRAGMA integrity_check",
    ]

    def run(io):
        con = limbodb.connect("t.db", io=io, isolation_level=None)
        for s in setup:
            con.execute(s)
        con.close()
        con = limbodb.connect("t.db", io=io, isolation_level=None)
        out = [con.execute(s).fetchall() for s in script]
        con.close()
        return out
    assert run(SimulatedIO(seed)) == run(MemoryIO())
