"""Which name error a query reports: limbodb and sqlite3 (the oracle) must name the same one.

SQLite resolves all names of a query before coding it, clause by clause: LIMIT and
OFFSET, the result columns, HAVING, WHERE with the ON terms appended, ORDER BY, GROUP
BY; a compound's SELECTs from the last to the first. A seeded generator joins t1, t2
and t3 and places unknown or ambiguous names in two or three of those clauses (bare,
in an expression, in a scalar, EXISTS or IN subquery, or in the subquery's own
clauses), over aggregate and plain queries. Both engines must raise the same
exception class with the same message.
"""

import random
import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a, b)",
    "CREATE TABLE t2(a, c)",
    "CREATE TABLE t3(d, e)",
    "INSERT INTO t1 VALUES(1, 2)",
    "INSERT INTO t2 VALUES(1, 3)",
    "INSERT INTO t3 VALUES(1, 4)",
]
SLOTS = ["result", "on2", "on3", "where", "group", "having", "order"]


class _Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.n = 0

    def bad(self):
        """An unknown column (its own name, so the message tells which one) or an ambiguous one."""
        r = self.r
        self.n += 1
        k = r.randrange(6)
        if k == 0:
            return "a"  # t1.a and t2.a
        if k == 1:
            return f"t2.zz{self.n}"
        if k == 2:
            return f"nosuch.c{self.n}"
        return f"zz{self.n}"

    def term(self, bad):
        """An expression: a known column, or, when ``bad``, one holding a bad name somewhere."""
        r = self.r
        name = self.bad() if bad else r.choice(["t1.b", "t2.c", "d", "1"])
        k = r.randrange(6)
        if k == 0:
            return f"({name} + 1)"
        if k == 1:
            return f"(SELECT {name})"
        if k == 2:
            return f"(SELECT e FROM t3 AS s WHERE s.e = {name})"
        if k == 3 and bad:
            # Not an outer query's name: SQLite 3.40 resolves a subquery's ORDER BY without them.
            self.n += 1
            return f"EXISTS (SELECT 1 FROM t3 AS s ORDER BY zz{self.n})"
        if k == 3:
            return f"EXISTS (SELECT 1 FROM t3 AS s WHERE s.d > {name})"
        if k == 4:
            return f"(1 IN (SELECT {name} FROM t3 AS s))"
        return name

    def query(self):
        r = self.r
        bad = set(r.sample(SLOTS, r.choice([2, 2, 3])))
        aggregate = r.random() < 0.5 or "having" in bad or "group" in bad
        result = f"{self.term('result' in bad)}, t1.b"
        if aggregate and r.random() < 0.5:
            result += ", count(*)"
        on2 = f"t2.a = {self.term(True)}" if "on2" in bad else "t2.a = t1.a"
        on3 = f"t3.d = {self.term(True)}" if "on3" in bad else "t3.d = t1.a"
        sql = f"SELECT {result} FROM t1 JOIN t2 ON {on2} LEFT JOIN t3 ON {on3}"
        if "where" in bad or r.random() < 0.3:
            sql += f" WHERE {self.term('where' in bad)} IS NOT NULL"
        if "group" in bad:
            sql += f" GROUP BY {self.term(True)}"
        elif aggregate:
            sql += " GROUP BY t1.b"
        if "having" in bad:
            sql += f" HAVING {self.term(True)} IS NOT NULL"
        if "order" in bad or r.random() < 0.3:
            sql += f" ORDER BY {self.term('order' in bad)}"
        return sql


def _error(mod, sql):
    c = mod.connect(":memory:", isolation_level=None)
    for s in SETUP:
        c.execute(s)
    try:
        c.execute(sql).fetchall()
    except mod.Error as e:
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("seed", range(300))
def test_the_first_name_error_is_sqlites(seed):
    sql = _Gen(seed).query()
    expected = _error(sqlite3, sql)
    assert expected is not None, sql
    assert _error(limbodb, sql) == expected, sql


@pytest.mark.parametrize("sql", [
    "SELECT nosuch, * FROM t1 JOIN t1 AS x ON x.zz = 1",
    "SELECT b FROM t1 JOIN t2 ON zz_on2 = 1 JOIN t3 ON zz_on3 = 1",
    "SELECT b FROM t1 JOIN t2 ON zz_on = 1 WHERE zz_where = 1",
    "SELECT b FROM t1 GROUP BY zz_group HAVING zz_having = 1",
    "SELECT b FROM t1 GROUP BY zz_group ORDER BY zz_order",
    "SELECT b FROM t1 WHERE zz_where = 1 HAVING zz_having = 1",
    "SELECT b FROM t1 WHERE zz_left = zz_right",
    "SELECT b FROM t1 WHERE zz_w = 1 ORDER BY (SELECT zz_sub_result FROM t2 WHERE zz_sub_where)",
    "SELECT (SELECT zz_sub_where_first FROM t2 WHERE zz_sub_where), zz_result FROM t1",
    "SELECT b AS q FROM t1 WHERE zz_where = 1 ORDER BY q, zz_order",
    "SELECT zz_result FROM t1 LIMIT zz_limit",
    "SELECT b FROM t1 WHERE zz_where LIMIT 1 OFFSET zz_offset",
    "SELECT zz_left FROM t1 UNION SELECT zz_right FROM t2",
    "SELECT zz_1 FROM t1 UNION SELECT zz_2 FROM t2 UNION ALL SELECT zz_3 FROM t3",
    "SELECT zz_left FROM t1 UNION VALUES(zz_values)",
    "SELECT b FROM t1 UNION SELECT zz_right FROM t2 LIMIT zz_limit",
    "SELECT zz_left FROM t1 UNION SELECT c FROM t2 ORDER BY zz_order",
])
def test_a_name_error_in_an_earlier_clause_wins(sql):
    expected = _error(sqlite3, sql)
    assert expected is not None
    assert _error(limbodb, sql) == expected
