"""Random SQL run by limbodb and by sqlite3 (the oracle) must agree.

A seeded generator makes 1-3 tables (t1, t2, t3) with columns a, b, c, d of
random declared types, random rows mixing every storage class, and SELECTs
over them: expressions (arithmetic, comparison, logic, CASE, CAST, BETWEEN,
IN, LIKE, scalar functions), WHERE, joins, GROUP BY with aggregates, ORDER BY
and LIMIT. Queries avoid what SQLite leaves undefined (bare columns beside
aggregates, LIMIT without a total order, group_concat order, random()), so a
difference is a bug. Both engines must raise (the same exception class) or
neither; rows must be equal as multisets with their Python types, and in
order when ORDER BY covers every column. Random INSERT/UPDATE/DELETE
sequences must leave the same table contents (values and types).
``LIMBODB_SOAK=n`` runs n times as many seeds.
"""

import math
import os
import random
import sqlite3

import pytest

import limbodb


DECL_TYPES = ["INTEGER", "TEXT", "REAL", "NUMERIC", "BLOB", "", "INT", "VARCHAR(5)", "DOUBLE"]
TEXTS = ["", "a", "B", "abc", "10", "2.5", " 7", "x1", "Abc", "-3", "1e2", "%", "a_c"]
INTS = [0, 1, -1, 2, 3, 5, -7, 10, 42, 100]
BIG_INTS = [9223372036854775807, -9223372036854775808, 4611686018427387904, -4294967296]
FLOATS = [0.5, -2.25, 3.0, 1e10, -0.0, 2.5, 1.0e-3, 123.456]
BLOBS = [b"\x00", b"ab", b"\xc3\xa9", b"10"]

BINARY_OPS = ["+", "-", "*", "/", "%", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "IS", "IS NOT",
              "&", "|"]
SCALAR_FUNCS = [("abs", 1), ("length", 1), ("upper", 1), ("lower", 1), ("typeof", 1), ("coalesce", 2),
                ("nullif", 2), ("ifnull", 2), ("substr", 2), ("substr", 3), ("max", 2), ("min", 2),
                ("round", 1), ("trim", 1), ("hex", 1), ("quote", 1), ("instr", 2), ("replace", 3)]
AGGREGATES = ["count", "sum", "total", "min", "max", "avg"]
CAST_TYPES = ["INTEGER", "REAL", "TEXT", "NUMERIC", "BLOB"]


def literal(v):
    """``v`` as an SQL literal."""
    if v is None:
        return "NULL"
    if isinstance(v, bytes):
        return "x'" + v.hex() + "'"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, float):
        return repr(v)
    return str(v)


class Table:
    def __init__(self, name, columns):
        self.name = name
        self.columns = columns  # list of (name, decl_type)


class Generator:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.tables = []

    # ------------------------------------------------------------ schema and data

    def value(self):
        r = self.r
        k = r.random()
        if k < 0.15:
            return None
        if k < 0.45:
            return r.choice(INTS)
        if k < 0.5:
            return r.choice(BIG_INTS)
        if k < 0.65:
            return r.choice(FLOATS)
        if k < 0.92:
            return r.choice(TEXTS)
        return r.choice(BLOBS)

    def schema_sql(self):
        """CREATE TABLE and INSERT statements for a new random schema (also remembered for queries)."""
        r = self.r
        out = []
        for i in range(r.randint(1, 3)):
            name = f"t{i + 1}"
            cols = [(c, r.choice(DECL_TYPES)) for c in "abcd"[:r.randint(2, 4)]]
            defs = ", ".join(f"{c} {t}".strip() for c, t in cols)
            out.append(f"CREATE TABLE {name}({defs})")
            self.tables.append(Table(name, cols))
            for _ in range(r.randint(0, 10)):
                out.append(f"INSERT INTO {name} VALUES ({', '.join(literal(self.value()) for _ in cols)})")
        return out

    # ------------------------------------------------------------ expressions

    def expr(self, cols, depth=0):
        r = self.r
        k = r.random()
        if depth >= 3 or k < 0.3:
            if cols and r.random() < 0.6:
                return r.choice(cols)
            return literal(self.value())
        if k < 0.55:
            op = r.choice(BINARY_OPS)
            return f"({self.expr(cols, depth + 1)} {op} {self.expr(cols, depth + 1)})"
        if k < 0.68:
            name, n = r.choice(SCALAR_FUNCS)
            return f"{name}({', '.join(self.expr(cols, depth + 1) for _ in range(n))})"
        if k < 0.74:
            return f"(NOT {self.expr(cols, depth + 1)})"
        if k < 0.78:
            return f"(- {self.expr(cols, depth + 1)})"
        if k < 0.83:
            whens = " ".join(f"WHEN {self.expr(cols, depth + 1)} THEN {self.expr(cols, depth + 1)}"
                             for _ in range(r.randint(1, 2)))
            return f"CASE {whens} ELSE {self.expr(cols, depth + 1)} END"
        if k < 0.88:
            return f"CAST({self.expr(cols, depth + 1)} AS {r.choice(CAST_TYPES)})"
        if k < 0.92:
            neg = "NOT " if r.random() < 0.3 else ""
            return (f"({self.expr(cols, depth + 1)} {neg}BETWEEN {self.expr(cols, depth + 1)} "
                    f"AND {self.expr(cols, depth + 1)})")
        if k < 0.96:
            items = ", ".join(self.expr(cols, depth + 1) for _ in range(r.randint(1, 3)))
            neg = "NOT " if r.random() < 0.3 else ""
            return f"({self.expr(cols, depth + 1)} {neg}IN ({items}))"
        # The oracle's SQLite is built with LIKE_DOESNT_MATCH_BLOBS (Debian's default, not SQLite's):
        # a TEXT operand keeps the comparison independent of that compile-time option.
        pattern = literal(r.choice(['a%', '%1%', '_', 'A_C', '%']))
        return f"(CAST({self.expr(cols, depth + 1)} AS TEXT) LIKE {pattern})"

    def group_key(self, cols):
        """A GROUP BY term that is not a literal (an integer literal would name a result column)."""
        while True:
            key = self.expr(cols, 2)
            if any(c in key for c in cols):
                return key

    # ------------------------------------------------------------ changes

    def change(self):
        """A random INSERT, UPDATE or DELETE on one of the tables."""
        r = self.r
        t = r.choice(self.tables)
        cols = [c for c, _ in t.columns]
        k = r.random()
        if k < 0.4:
            rows = ", ".join("(" + ", ".join(literal(self.value()) for _ in cols) + ")"
                             for _ in range(r.randint(1, 3)))
            return f"INSERT INTO {t.name} VALUES {rows}"
        where = f" WHERE {self.expr(cols, 1)}" if r.random() < 0.8 else ""
        if k < 0.75:
            sets = ", ".join(f"{c} = {self.expr(cols, 1)}" for c in r.sample(cols, r.randint(1, len(cols))))
            return f"UPDATE {t.name} SET {sets}{where}"
        return f"DELETE FROM {t.name}{where}"

    # ------------------------------------------------------------ queries

    def select(self):
        """(sql, ordered): a random SELECT, and whether ORDER BY fixes its row order completely."""
        r = self.r
        t = r.choice(self.tables)
        sources = f"{t.name}"
        cols = [f"{t.name}.{c}" for c, _ in t.columns]
        if len(self.tables) > 1 and r.random() < 0.35:
            u = r.choice([x for x in self.tables if x is not t])
            join = r.choice(["JOIN", "LEFT JOIN", ","])
            on = ""
            if join != ",":
                on = f" ON {r.choice(cols)} = {u.name}.{r.choice(u.columns)[0]}"
            sources = f"{t.name} {join} {u.name}{on}"
            cols = cols + [f"{u.name}.{c}" for c, _ in u.columns]
        where = f" WHERE {self.expr(cols, 1)}" if r.random() < 0.6 else ""
        if r.random() < 0.3:
            keys = [self.group_key(cols) for _ in range(r.randint(1, 2))]
            aggs = []
            for _ in range(r.randint(1, 2)):
                fn = r.choice(AGGREGATES)
                arg = "*" if fn == "count" and r.random() < 0.4 else self.expr(cols, 2)
                distinct = "DISTINCT " if arg != "*" and r.random() < 0.2 else ""
                aggs.append(f"{fn}({distinct}{arg})")
            items = keys + aggs
            having = f" HAVING {aggs[0]} IS NOT NULL" if r.random() < 0.3 else ""
            sql = f"SELECT {', '.join(items)} FROM {sources}{where} GROUP BY {', '.join(keys)}{having}"
        else:
            items = [self.expr(cols) for _ in range(r.randint(1, 4))]
            distinct = "DISTINCT " if r.random() < 0.15 else ""
            sql = f"SELECT {distinct}{', '.join(items)} FROM {sources}{where}"
        ordered = r.random() < 0.4
        if ordered:
            terms = [f"{i + 1}{r.choice(['', ' DESC'])}" for i in range(len(items))]
            r.shuffle(terms)
            sql += " ORDER BY " + ", ".join(terms)
            if r.random() < 0.5:
                sql += f" LIMIT {r.randint(0, 5)}"
                if r.random() < 0.5:
                    sql += f" OFFSET {r.randint(0, 3)}"
        return sql, ordered


SEEDS = 6 * int(os.environ.get("LIMBODB_SOAK", "1"))
QUERIES_PER_SEED = 30


def _canon(v):
    """A comparable, hashable form of a value: its type and value (floats to 12 digits)."""
    if isinstance(v, float):
        if math.isnan(v):
            return ("float", "nan")
        return ("float", float(f"{v:.12g}"))
    return (type(v).__name__, v)


def _order_key(v):
    """The value as an ORDER BY sees it: integers and reals compare by numeric value."""
    if isinstance(v, (int, float)):
        return ("num", float(f"{float(v):.12g}"))
    return _canon(v)


def _run(conn, sql):
    try:
        return "rows", conn.execute(sql).fetchall()
    except (sqlite3.Error, limbodb.Error) as e:
        return "error", type(e).__name__, str(e)


def _compare(expected, got, ordered, limited):
    if expected[0] == "error" or got[0] == "error":
        if expected[0] != got[0] or expected[1] != got[1]:
            return f"sqlite3 {expected[:2]} vs limbodb {got[:2]}"
        return None
    exp_rows, got_rows = expected[1], got[1]
    if ordered:
        if [tuple(map(_order_key, r)) for r in exp_rows] != [tuple(map(_order_key, r)) for r in got_rows]:
            return f"order/rows differ:\n  sqlite3 {exp_rows!r}\n  limbodb {got_rows!r}"
        if limited:
            return None
    key = lambda row: repr(row)  # noqa: E731 - a total order over canonical rows of mixed types
    if sorted((tuple(map(_canon, r)) for r in exp_rows), key=key) != \
            sorted((tuple(map(_canon, r)) for r in got_rows), key=key):
        return f"rows differ:\n  sqlite3 {exp_rows!r}\n  limbodb {got_rows!r}"
    return None


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_selects_match_sqlite(seed):
    gen = Generator(seed)
    oracle = sqlite3.connect(":memory:", isolation_level=None)
    mine = limbodb.connect(":memory:", isolation_level=None)
    schema = gen.schema_sql()
    for stmt in schema:
        oracle.execute(stmt)
        mine.execute(stmt)
    failures = []
    for _ in range(QUERIES_PER_SEED):
        sql, ordered = gen.select()
        problem = _compare(_run(oracle, sql), _run(mine, sql), ordered, " LIMIT " in sql)
        if problem:
            failures.append(f"{sql}\n  {problem}")
    assert not failures, f"seed {seed}; schema:\n" + ";\n".join(schema) + "\n\n" + "\n\n".join(failures[:5])


def _contents(conn, tables):
    return {t.name: conn.execute(f"SELECT rowid, * FROM {t.name} ORDER BY rowid").fetchall() for t in tables}


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_changes_leave_the_same_tables(seed):
    gen = Generator(1000 + seed)
    oracle = sqlite3.connect(":memory:", isolation_level=None)
    mine = limbodb.connect(":memory:", isolation_level=None)
    schema = gen.schema_sql()
    for stmt in schema:
        oracle.execute(stmt)
        mine.execute(stmt)
    done = []
    for _ in range(QUERIES_PER_SEED):
        sql = gen.change()
        done.append(sql)
        expected, got = _run(oracle, sql), _run(mine, sql)
        assert expected[0] == got[0] and expected[1:2] == got[1:2], \
            f"seed {1000 + seed}: {sql}\n  sqlite3 {expected}\n  limbodb {got}"
        want, have = _contents(oracle, gen.tables), _contents(mine, gen.tables)
        if want != have or any(tuple(map(_canon, a)) != tuple(map(_canon, b))
                               for t in want for a, b in zip(want[t], have[t])):
            pytest.fail(f"seed {1000 + seed}; after:\n" + ";\n".join(schema + done)
                        + f"\n  sqlite3 {want}\n  limbodb {have}")
