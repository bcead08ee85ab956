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
sequences must leave the same table contents (values and types). A second
generator adds correlated and outer-aggregate subqueries, compounds mixing
the set operators, DISTINCT, and ORDER BY naming GROUP BY terms again; a
third HAVING, IN/NOT IN and LIMIT/OFFSET subqueries, CTEs and LEFT JOINs. For a
join with GROUP BY or DISTINCT, 0 and 0.0 count as the same value: which one
SQLite keeps depends on the join order its planner picks (see _compare).
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


def _compare(expected, got, ordered, limited, loose=False):
    """A description of how the results differ, or None.

    ``loose``: an integer and a real of equal value count as the same. For a join
    with GROUP BY or DISTINCT, which of several equal values (0 and 0.0) a group
    or DISTINCT keeps depends on the order rows arrive in, so on the join order
    SQLite's cost-based planner picks: forcing either order with CROSS JOIN makes
    SQLite itself return either value. limbodb's planner orders joins its own way.
    """
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
    canon = _order_key if loose else _canon
    key = lambda row: repr(row)  # noqa: E731 - a total order over canonical rows of mixed types
    if sorted((tuple(map(canon, r)) for r in exp_rows), key=key) != \
            sorted((tuple(map(canon, r)) for r in got_rows), key=key):
        return f"rows differ:\n  sqlite3 {exp_rows!r}\n  limbodb {got_rows!r}"
    return None


def _join_order_dependent(sql):
    """A join whose GROUP BY or DISTINCT may keep either of two equal values (see _compare)."""
    return (" JOIN " in sql or " , " in sql) and (" GROUP BY " in sql or "SELECT DISTINCT " in sql)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_selects_match_sqlite(seed):
    _assert_selects_match(Generator(seed), seed)


def _assert_selects_match(gen, seed):
    """Run QUERIES_PER_SEED of ``gen``'s SELECTs on a fresh random schema in both engines."""
    oracle = sqlite3.connect(":memory:", isolation_level=None)
    mine = limbodb.connect(":memory:", isolation_level=None)
    schema = gen.schema_sql()
    for stmt in schema:
        oracle.execute(stmt)
        mine.execute(stmt)
    failures = []
    for _ in range(QUERIES_PER_SEED):
        sql, ordered = gen.select()
        problem = _compare(_run(oracle, sql), _run(mine, sql), ordered, " LIMIT " in sql,
                           _join_order_dependent(sql))
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


class RichGenerator(Generator):
    """SELECTs with subqueries, compounds, DISTINCT, and ORDER BY repeating GROUP BY terms.

    A subquery's aggregate reads either an inner column (an ordinary correlated
    subquery) or only outer columns: then it is the outer query's aggregate
    (SQLite's rule), so every result column of that query is such a subquery,
    keeping bare columns out of it.
    """

    def _inner(self, name):
        u = next(x for x in self.tables if x.name == name)
        return u, [f"{name}x.{c}" for c, _ in u.columns]

    def _inner_aggregate(self, cols):
        """A subquery whose aggregate reads a column of its own table."""
        r = self.r
        u, ucols = self._inner(r.choice(self.tables).name)
        while True:
            arg = self.expr(ucols + cols, 2)
            if f"{u.name}x." in arg:
                break
        where = f" WHERE {self.expr(ucols + cols, 2)}" if r.random() < 0.5 else ""
        k = r.random()
        if k < 0.15:
            return f"EXISTS (SELECT 1 FROM {u.name} AS {u.name}x{where})"
        if k < 0.3:
            return f"({self.expr(cols, 2)} IN (SELECT {arg} FROM {u.name} AS {u.name}x{where}))"
        return f"(SELECT {r.choice(AGGREGATES)}({arg}) FROM {u.name} AS {u.name}x{where})"

    def _outer_aggregate(self, cols):
        """A subquery whose aggregate reads only the outer query's columns (one or two levels deep).

        Not in a FROM subquery: sqlite3 3.40 rejects that as misuse (SQLite 3.41 does not).
        """
        r = self.r
        u, ucols = self._inner(r.choice(self.tables).name)
        arg = self.group_key(cols)
        call = f"{r.choice(AGGREGATES)}({arg})"
        # Only inner columns here: an outer one would be a bare column of the (now aggregate) outer query.
        where = f" WHERE {self.expr(ucols, 2)}" if r.random() < 0.4 else ""
        k = r.random()
        if k < 0.2:
            v, _ = self._inner(r.choice(self.tables).name)
            return f"(SELECT (SELECT {call} FROM {v.name} AS {v.name}y) FROM {u.name} AS {u.name}x{where})"
        if k < 0.4:
            return f"(SELECT {call} FROM {u.name} AS {u.name}x{where} UNION ALL SELECT 1)"
        return f"(SELECT {call} FROM {u.name} AS {u.name}x{where})"

    def select(self):
        r = self.r
        t = r.choice(self.tables)
        sources = t.name
        cols = [f"{t.name}.{c}" for c, _ in t.columns]
        if len(self.tables) > 1 and r.random() < 0.35:
            u = r.choice([x for x in self.tables if x is not t])
            join = r.choice(["JOIN", "LEFT JOIN", ","])
            on = f" ON {r.choice(cols)} = {u.name}.{r.choice(u.columns)[0]}" if join != "," else ""
            sources = f"{t.name} {join} {u.name}{on}"
            cols = cols + [f"{u.name}.{c}" for c, _ in u.columns]
        where = f" WHERE {self.expr(cols, 1)}" if r.random() < 0.5 else ""
        k = r.random()
        if k < 0.25:
            keys = [self.group_key(cols) for _ in range(r.randint(1, 2))]
            aggs = []
            for _ in range(r.randint(1, 2)):
                fn = r.choice(AGGREGATES)
                aggs.append(f"{fn}({'*' if fn == 'count' else self.expr(cols, 2)})")
            items = keys + aggs
            # ORDER BY names the GROUP BY terms again, then every column by number: a total order.
            terms = [f"{key}{r.choice(['', ' DESC'])}" for key in keys] + [f"{i + 1}" for i in range(len(items))]
            return (f"SELECT {', '.join(items)} FROM {sources}{where} GROUP BY {', '.join(keys)} "
                    f"ORDER BY {', '.join(terms)}", True)
        if k < 0.45:
            items = [self._inner_aggregate(cols) if r.random() < 0.6 else self.expr(cols)
                     for _ in range(r.randint(1, 3))]
            return f"SELECT {', '.join(items)} FROM {sources}{where}", False
        if k < 0.6:
            items = [self._outer_aggregate(cols) for _ in range(r.randint(1, 2))]
            return f"SELECT {', '.join(items)} FROM {sources}{where}", False
        if k < 0.75:
            items = [self.expr(cols) for _ in range(r.randint(1, 3))]
            return f"SELECT DISTINCT {', '.join(items)} FROM {sources}{where}", False
        n = r.randint(1, 2)
        parts = []
        for _ in range(r.randint(2, 3)):
            u = r.choice(self.tables)
            ucols = [f"{u.name}.{c}" for c, _ in u.columns]
            w = f" WHERE {self.expr(ucols, 1)}" if r.random() < 0.5 else ""
            parts.append(f"SELECT {', '.join(self.expr(ucols, 1) for _ in range(n))} FROM {u.name}{w}")
        ops = [r.choice(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]) for _ in parts[1:]]
        sql = parts[0] + "".join(f" {op} {p}" for op, p in zip(ops, parts[1:]))
        if r.random() < 0.5:
            return sql + " ORDER BY " + ", ".join(f"{i + 1}{r.choice(['', ' DESC'])}" for i in range(n)), True
        return sql, False


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_subqueries_and_compounds_match_sqlite(seed):
    _assert_selects_match(RichGenerator(2000 + seed), 2000 + seed)


class ClauseGenerator(RichGenerator):
    """SELECTs with HAVING, scalar subqueries with ORDER BY/LIMIT/OFFSET, IN and NOT IN
    subqueries, a CTE joined to a table, and LEFT JOIN filtered on the right table."""

    def _never_failing(self, cols):
        """An expression without abs(), the one call here that can fail (on the smallest integer).

        SQLite flattens the CTE into the query and computes a column only where it is read;
        limbodb materializes the CTE, computing every column of every row, so a failing
        column would fail in one engine only.
        """
        while True:
            e = self.expr(cols, 1)
            if "abs(" not in e:
                return e

    def select(self):
        r = self.r
        t = r.choice(self.tables)
        cols = [f"{t.name}.{c}" for c, _ in t.columns]
        u, ucols = self._inner(r.choice(self.tables).name)
        inner = f"{u.name} AS {u.name}x"
        k = r.random()
        if k < 0.25:
            key = self.group_key(cols)
            having = r.choice([f"count(*) > {r.randint(0, 2)}",
                               f"{r.choice(AGGREGATES)}({self.expr(cols, 2)}) IS NOT NULL",
                               f"EXISTS (SELECT 1 FROM {inner} WHERE {self.expr(ucols, 2)})",
                               f"(SELECT count(*) FROM {inner} WHERE {self.expr(ucols, 2)}) > 0"])
            return f"SELECT {key}, count(*) FROM {t.name} GROUP BY {key} HAVING {having} ORDER BY 1, 2", True
        if k < 0.45:
            # Ordered by rowid: the row the scalar subquery returns is fixed.
            sub = (f"(SELECT {self.expr(ucols + cols, 2)} FROM {inner} WHERE {self.expr(ucols + cols, 2)} "
                   f"ORDER BY {u.name}x.rowid DESC LIMIT 1 OFFSET {r.randint(0, 1)})")
            return f"SELECT {sub}, {self.expr(cols)} FROM {t.name}", False
        if k < 0.65:
            where = f" WHERE {self.expr(ucols + cols, 2)}" if r.random() < 0.5 else ""
            return (f"SELECT {self.expr(cols)} {r.choice(['', 'NOT '])}IN (SELECT {self.expr(ucols, 2)} "
                    f"FROM {inner}{where}), {self.expr(cols)} FROM {t.name}", False)
        if k < 0.85 or len(self.tables) == 1:
            vcols = [f"{u.name}.{c}" for c, _ in u.columns]
            body = ", ".join(f"{self._never_failing(vcols)} AS c{i}" for i in range(2))
            where = f" WHERE {self.expr(['w.c0', 'w.c1'] + cols, 1)}" if r.random() < 0.5 else ""
            return (f"WITH w AS (SELECT {body} FROM {u.name}) SELECT {self.expr(['w.c0', 'w.c1'] + cols)}, "
                    f"{self.expr(['w.c0', 'w.c1'])} FROM w, {t.name}{where}", False)
        v = r.choice([x for x in self.tables if x is not t])
        vcols = [f"{v.name}.{c}" for c, _ in v.columns]
        return (f"SELECT {self.expr(cols + vcols)}, {self.expr(vcols)} FROM {t.name} LEFT JOIN {v.name} "
                f"ON {self.expr(cols + vcols, 1)} WHERE {r.choice(vcols)} IS NULL OR {self.expr(cols + vcols, 2)}",
                False)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_clauses_and_ctes_match_sqlite(seed):
    _assert_selects_match(ClauseGenerator(3000 + seed), 3000 + seed)
