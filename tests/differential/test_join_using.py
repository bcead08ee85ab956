"""Random USING/NATURAL join chains run by limbodb and by sqlite3 (the oracle) must agree.

A seeded generator makes three small tables (t1, t2, t3) over random subsets of
the columns a, b, c, d, a view and a CTE, and joins 2-4 FROM items of every kind
(table, aliased table, view, CTE, aliased and unaliased subquery, parenthesized
join with or without an alias, two deep) with comma, JOIN, CROSS JOIN, LEFT JOIN
and their NATURAL forms, USING a random column list or ON. The result is ``*``,
a list of qualified and unqualified columns, or count(*). Both engines must raise
the same exception class with the same message, or return the same column names
and the same rows as multisets. An unaliased parenthesized join after the first
item and on the right of an inner join is opened in place (as SQLite flattens it),
so it is never NATURAL-joined: SQLite's NATURAL matches the names of the subquery
it makes of it (``b:1``). An ON names no column: SQLite reports the result columns'
errors first, limbodb the ON's."""

import random
import sqlite3

import pytest

import limbodb
from limbodb.cli.render import sql_literal

COLUMNS = ["a", "b", "c", "d"]
VALUES = [None, 1, 1, 2, 3, "1", "x"]
DEPTH = 1


class _Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.cols = {}
        self.subs = 0

    def schema(self):
        r = self.r
        sql = []
        for k in (1, 2, 3):
            cols = sorted(r.sample(COLUMNS, r.randint(1, 3)))
            self.cols[f"t{k}"] = cols
            sql.append(f"CREATE TABLE t{k}({', '.join(cols)})")
            for _ in range(r.randint(0, 4)):
                sql.append(f"INSERT INTO t{k} VALUES ({', '.join(sql_literal(r.choice(VALUES)) for _ in cols)})")
        vcols = self.cols["t1"][:2]
        self.cols["v1"] = vcols
        sql.append(f"CREATE VIEW v1 AS SELECT {', '.join(vcols)} FROM t1")
        return sql

    def item(self, depth):
        """(SQL of a FROM item, its columns, "group" or "aliased" for a parenthesized join, else None)."""
        r = self.r
        k = r.random()
        table = r.choice(["t1", "t2", "t3"])
        cols = self.cols[table]
        if k < 0.3:
            return table, cols, None
        if k < 0.4:
            return f"{table} AS x{r.randint(1, 2)}", cols, None
        if k < 0.5:
            return "v1", self.cols["v1"], None
        if k < 0.6:
            return "c1", self.cols["t2"], None
        if k < 0.85 or not depth:
            pick = r.sample(cols, r.randint(1, len(cols)))
            names = [c if r.random() < 0.8 else r.choice(COLUMNS) for c in pick]
            body = ", ".join(c if c == n else f"{c} AS {n}" for c, n in zip(pick, names))
            distinct = "DISTINCT " if r.random() < 0.3 else ""
            alias = f" AS s{r.randint(1, 2)}" if r.random() < 0.4 else ""
            return f"(SELECT {distinct}{body} FROM {table}){alias}", names, None
        left, lcols, _ = self.item(depth - 1)
        right, rcols, kind = self.item(depth - 1)
        op, cons = self.constraint(lcols, rcols, kind)
        alias = f" AS g{r.randint(1, 2)}" if r.random() < 0.3 else ""
        return f"({left} {op} {right}{cons}){alias}", lcols + rcols, "aliased" if alias else "group"

    def constraint(self, lcols, rcols, kind):
        """(join operator, constraint) joining items with columns ``lcols`` and ``rcols``
        (``kind``: the right one's, from ``item``)."""
        r = self.r
        ops = ["JOIN", ",", "CROSS JOIN", "LEFT JOIN", "NATURAL LEFT JOIN"]
        if kind != "group":
            ops.append("NATURAL JOIN")
        op = r.choice(ops)
        if op == "," or "NATURAL" in op or op == "CROSS JOIN" and r.random() < 0.5:
            return op, ""
        k = r.random()
        common = sorted(set(lcols) & set(rcols))
        if k < 0.7 and common:
            return op, f" USING ({', '.join(r.sample(common, r.randint(1, len(common))))})"
        if k < 0.8:
            return op, f" USING ({r.choice(COLUMNS)})"
        return op, r.choice([" ON 1", " ON 0", " ON NULL"])

    def query(self):
        """A SELECT over 2-4 FROM items."""
        r = self.r
        first, cols, _kind = self.item(DEPTH)
        parts = [first]
        seen = list(cols)
        for _ in range(r.randint(1, 3)):
            item, icols, kind = self.item(DEPTH)
            op, cons = self.constraint(seen, icols, kind)
            parts.append(f"{op} {item}{cons}")
            seen += icols
        k = r.random()
        if k < 0.4:
            result = "*"
        elif k < 0.5:
            result = "count(*)"
        else:
            names = ["t1", "t2", "t3", "x1", "x2", "s1", "s2", "v1", "c1", "g1", "g2"]
            result = ", ".join(c if r.random() < 0.6 else f"{r.choice(names)}.{c}"
                               for c in r.sample(COLUMNS, r.randint(1, 3)))
        return f"WITH c1 AS (SELECT * FROM t2) SELECT {result} FROM {' '.join(parts)}"


def _run(conn, sql):
    try:
        cur = conn.execute(sql)
        return "rows", [d[0] for d in cur.description], sorted(cur.fetchall(), key=repr)
    except (sqlite3.Error, limbodb.Error) as e:
        return "error", type(e).__name__, str(e)


@pytest.mark.parametrize("seed", range(8))
def test_random_using_and_natural_join_chains_match_sqlite(seed):
    gen = _Gen(seed)
    ddl = gen.schema()
    oracle = sqlite3.connect(":memory:")
    mine = limbodb.connect(":memory:")
    for stmt in ddl:
        oracle.execute(stmt)
        mine.execute(stmt)
    differ = []
    for _ in range(60):
        sql = gen.query()
        want, got = _run(oracle, sql), _run(mine, sql)
        if want != got:
            differ.append(f"{sql}\n  sqlite3 {want}\n  limbodb {got}")
    assert not differ, f"{len(differ)} differ:\n" + "\n".join(differ[:5])
