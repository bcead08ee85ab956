"""Seeded random triggers and DML on an indexed table: the same rows, log and errors as sqlite3."""

import random
import sqlite3

import pytest

import limbodb

_BODIES = {
    "INSERT": ["insert into log values('{n}', new.a, new.b)",
               "update t set c = coalesce(c, 0) + 1 where a = new.a - 1",
               "delete from t where a = new.a - 2",
               "insert into log select '{n}', count(*), sum(b) from t",
               "select raise(ignore) where new.b > 50"],
    "UPDATE": ["insert into log values('{n}', old.b, new.b)",
               "delete from t where a = old.a + 1",
               "update t set c = coalesce(c, 0) + 10 where a = old.a",
               "insert into log values('{n}', new.a, (select max(b) from t))",
               "select raise(abort, 'stop') where new.b = 13"],
    "DELETE": ["insert into log values('{n}', old.a, old.c)",
               "update t set b = b + 100 where a = old.a + 1",
               "insert into t(b, c) select old.b, -1 where old.c >= 0",
               "select raise(ignore) where old.c > 25"],
}
_WHENS = {
    "INSERT": [None, "new.b > 5", "new.a % 2 = 0"],
    "UPDATE": [None, "old.b <> new.b", "new.c > 20"],
    "DELETE": [None, "old.b < 50", "old.c is not null"],
}


def _script(seed):
    rnd = random.Random(seed)
    out = ["create table t(a integer primary key, b, c)", "create index tb on t(b)",
           "create table log(x, y, z)"]
    for k in range(rnd.randint(1, 4)):
        event = rnd.choice(["INSERT", "UPDATE", "DELETE"])
        time = rnd.choice(["BEFORE", "AFTER"])
        of = " OF b" if event == "UPDATE" and rnd.random() < 0.3 else ""
        when = rnd.choice(_WHENS[event])
        body = "; ".join(s.format(n=f"tr{k}") for s in rnd.sample(_BODIES[event], rnd.randint(1, 2)))
        out.append(f"create trigger tr{k} {time} {event}{of} on t"
                   + (f" when {when}" if when else "") + f" begin {body}; end")
    if rnd.random() < 0.3:
        out.append("pragma recursive_triggers = 1")
    for _ in range(rnd.randint(6, 12)):
        kind = rnd.random()
        if kind < 0.45:
            vals = ", ".join(f"({rnd.randint(0, 60)}, {rnd.randint(0, 30)})"
                             for _ in range(rnd.randint(1, 3)))
            out.append(f"insert into t(b, c) values {vals}")
        elif kind < 0.75:
            col = rnd.choice(["b", "c"])
            out.append(f"update t set {col} = {col} + {rnd.randint(1, 9)} where a % {rnd.randint(2, 4)} = 0")
        else:
            out.append(f"delete from t where c < {rnd.randint(0, 30)}")
    out += ["select * from t order by a", "select * from log order by rowid"]
    return out


def _run(mod, script):
    c = mod.connect(":memory:", isolation_level=None)
    out = []
    for s in script:
        try:
            out.append((s, c.execute(s).fetchall()))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e)))
    out.append(c.execute("pragma integrity_check").fetchall())
    c.close()
    return out


@pytest.mark.parametrize("seed", range(40))
def test_random_triggers_match_sqlite(seed):
    script = _script(seed)
    mine = _run(limbodb, script)
    theirs = _run(sqlite3, script)
    for m, t in zip(mine, theirs):
        assert m == t
