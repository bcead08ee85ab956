"""Random join shapes run by limbodb and by sqlite3 (the oracle) must agree.

A seeded generator makes 2-4 small tables (rowid, INTEGER PRIMARY KEY or
WITHOUT ROWID, some with an index) full of NULLs and duplicate values, then
joins them with random join kinds (comma, INNER, CROSS, LEFT, RIGHT, FULL,
NATURAL) and conditions (ON with one or two conjuncts, USING), sometimes over a
subquery, with an optional WHERE, ORDER BY, DISTINCT, LIMIT or aggregate. Both
engines must raise the same exception class with the same message, or return
the same rows as multisets (in order when ORDER BY covers every column).
RIGHT and FULL JOIN need SQLite 3.39 or later.
"""

import random
import re
import sqlite3

import pytest

import limbodb
from limbodb.cli.render import sql_literal

VALUES = [None, 0, 1, 1, 2, 3, "1", "x", None]
COLUMNS = ["a", "b", "c", "d"]


def _table(rng, k):
    """(CREATE statements, column names) of table t<k>."""
    cols = rng.sample(COLUMNS, rng.randint(2, 4))
    name = f"t{k}"
    kind = rng.choice(["rowid", "ipk", "wr"])
    decl = [f"{c} {rng.choice(['', 'INT', 'TEXT', 'NUMERIC'])}" for c in cols]
    if kind != "rowid":
        decl.append("id INTEGER PRIMARY KEY")
    ddl = [f"CREATE TABLE {name}({', '.join(decl)}){' WITHOUT ROWID' if kind == 'wr' else ''}"]
    if rng.random() < 0.5:
        ddl.append(f"CREATE INDEX {name}_i ON {name}({rng.choice(cols)})")
    for i in range(rng.randint(0, 5)):
        vals = ", ".join(sql_literal(rng.choice(VALUES)) for _ in cols)
        if kind != "rowid":
            vals += f", {i + 1}"
        ddl.append(f"INSERT INTO {name} VALUES ({vals})")
    return ddl, cols


def _query(rng, tables):
    """A SELECT joining some of ``tables`` ([(name, columns)])."""
    n = rng.randint(2, min(4, len(tables)))
    picked = rng.sample(tables, n)
    items = []
    seen = []   # (alias, columns) already in the FROM
    for pos, (name, cols) in enumerate(picked):
        alias = f"s{pos}"
        if rng.random() < 0.2:
            where = f" WHERE {rng.choice(cols)} IS NOT {sql_literal(rng.choice(VALUES))}"
            src = f"(SELECT {', '.join(cols)} FROM {name}{where}) AS {alias}"
        else:
            src = f"{name} AS {alias}"
        if pos == 0:
            items.append(src)
            seen.append((alias, cols))
            continue
        kind = rng.choice(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "RIGHT OUTER JOIN",
                           "FULL OUTER JOIN", "CROSS JOIN", ","])
        shared = sorted({c for _a, cs in seen for c in cs} & set(cols))
        cond = ""
        if kind != ",":
            r = rng.random()
            if kind != "CROSS JOIN" and r < 0.15 and shared:
                kind = "NATURAL " + kind
            elif r < 0.35 and shared:
                cond = f" USING ({', '.join(rng.sample(shared, rng.randint(1, len(shared))))})"
            elif kind != "CROSS JOIN" or r < 0.5:
                la, lcols = rng.choice(seen)
                op = rng.choice(["=", "=", "=", "<", "IS"])
                cond = f" ON {la}.{rng.choice(lcols)} {op} {alias}.{rng.choice(cols)}"
                if rng.random() < 0.3:
                    la, lcols = rng.choice(seen + [(alias, cols)])
                    cond += f" AND {la}.{rng.choice(lcols)} IS NOT {sql_literal(rng.choice(VALUES))}"
        items.append(f"{kind} {src}{cond}")
        seen.append((alias, cols))
    from_ = " ".join(items).replace(" , ", ", ")
    refs = [f"{a}.{c}" for a, cs in seen for c in cs]
    where = ""
    if rng.random() < 0.4:
        where = f" WHERE {rng.choice(refs)} {rng.choice(['IS NULL', 'IS NOT NULL', '= 1', '> 0', '<> 2'])}"
    shape = rng.random()
    if shape < 0.2:
        return f"SELECT * FROM {from_}{where}", False
    if shape < 0.35:
        col = rng.choice(refs)
        return (f"SELECT {col}, count(*), count({rng.choice(refs)}) FROM {from_}{where} GROUP BY {col}",
                False)
    if shape < 0.45:
        return f"SELECT count(*), max({rng.choice(refs)}) FROM {from_}{where}", False
    cols = rng.sample(refs, min(len(refs), rng.randint(1, 4)))
    distinct = "DISTINCT " if rng.random() < 0.2 else ""
    sql = f"SELECT {distinct}{', '.join(cols)} FROM {from_}{where}"
    if rng.random() < 0.4:
        order = ", ".join(f"{i + 1}" for i in range(len(cols)))
        sql += f" ORDER BY {order}"
        if rng.random() < 0.5:
            sql += f" LIMIT {rng.randint(0, 4)} OFFSET {rng.randint(0, 2)}"
        return sql, True
    return sql, False


def _run(conn, sql):
    try:
        return conn.execute(sql).fetchall(), None
    except Exception as e:  # noqa: BLE001 - compared with the oracle's
        return None, (type(e).__name__, str(e))


def _key(row):
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in row)


@pytest.mark.parametrize("seed", range(40))
def test_random_join_shapes_match_sqlite(seed):
    rng = random.Random(seed)
    ora = sqlite3.connect(":memory:")
    eng = limbodb.connect(":memory:")
    tables = []
    for k in range(1, rng.randint(2, 4) + 1):
        ddl, cols = _table(rng, k)
        for stmt in ddl:
            ora.execute(stmt)
            eng.execute(stmt)
        tables.append((f"t{k}", cols))
    for _ in range(30):
        sql, ordered = _query(rng, tables)
        want, werr = _run(ora, sql)
        got, gerr = _run(eng, sql)
        assert gerr == werr, sql
        if werr is None:
            if ordered:
                assert got == want, sql
            else:
                assert sorted(got, key=_key) == sorted(want, key=_key), sql


class _Groups:
    """FROM lists of 2-4 aliased tables, some of them parenthesized (two deep), joined
    with every join kind by an ON naming the tables in scope, USING a shared column or
    NATURAL (never onto parentheses)."""

    def __init__(self, rng, tables):
        self.rng = rng
        self.tables = tables
        self.n = 0
        self.left = 0

    def item(self, depth):
        """(SQL, [(alias, columns)]) of one FROM item."""
        rng = self.rng
        if depth and self.left >= 2 and rng.random() < 0.4:
            return self.join_list(depth - 1, rng.randint(2, min(3, self.left)), True)
        name, cols = rng.choice(self.tables)
        alias = f"s{self.n}"
        self.n += 1
        self.left -= 1
        return f"{name} AS {alias}", [(alias, cols)]

    def join_list(self, depth, n, paren):
        rng = self.rng
        sql, seen = self.item(depth)
        for _ in range(n - 1):
            if self.left <= 0:
                break
            kind = rng.choice(["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN", ","])
            item, got = self.item(depth)
            shared = sorted({c for _a, cs in seen for c in cs} & {c for _a, cs in got for c in cs})
            cond = ""
            r = rng.random()
            if kind == "," or (kind == "CROSS JOIN" and r < 0.5):
                pass
            elif r < 0.15 and shared and not item.startswith("("):
                kind = "NATURAL " + kind
            elif r < 0.35 and shared and not item.startswith("("):
                cond = f" USING ({rng.choice(shared)})"
            else:
                terms = []
                for _ in range(rng.randint(1, 2)):
                    la, lcols = rng.choice(seen + got)
                    ra, rcols = rng.choice(got)
                    op = rng.choice(["=", "=", "<", "IS"])
                    terms.append(f"{la}.{rng.choice(lcols)} {op} {ra}.{rng.choice(rcols)}")
                cond = " ON " + " AND ".join(terms)
            sql += f" {kind} {item}{cond}".replace(" , ", ", ")
            seen = seen + got
        return (f"({sql})" if paren else sql), seen

    def query(self):
        rng = self.rng
        self.n = 0
        self.left = rng.randint(3, 4)
        sql, seen = self.join_list(2, rng.randint(2, 3), False)
        refs = [f"{a}.{c}" for a, cs in seen for c in cs]
        shape = rng.random()
        if shape < 0.5:
            return f"SELECT * FROM {sql}"
        if shape < 0.6:
            return f"SELECT count(*) FROM {sql}"
        return f"SELECT {', '.join(rng.sample(refs, min(len(refs), 3)))} FROM {sql}"


def _outcome(conn, sql):
    try:
        cur = conn.execute(sql)
        return "rows", [d[0] for d in cur.description], sorted(cur.fetchall(), key=_key)
    except Exception as e:  # noqa: BLE001 - compared with the oracle's
        return "error", type(e).__name__, str(e)


@pytest.mark.parametrize("seed", range(20))
def test_random_parenthesized_joins_match_sqlite(seed):
    """Parenthesized joins: the same column names, rows (as multisets) or error. SQLite
    names a column a random ":N" once a name repeats five times; those names are not
    compared."""
    rng = random.Random(1000 + seed)
    ora = sqlite3.connect(":memory:")
    eng = limbodb.connect(":memory:")
    tables = []
    for k in range(1, 4):
        ddl, cols = _table(rng, k)
        for stmt in ddl:
            ora.execute(stmt)
            eng.execute(stmt)
        tables.append((f"t{k}", cols))
    gen = _Groups(rng, tables)
    for _ in range(30):
        sql = gen.query()
        want, got = _outcome(ora, sql), _outcome(eng, sql)
        if want[0] == got[0] == "rows" and any(re.search(r":[0-9]{3,}$", n) for n in want[1]):
            want, got = want[2], got[2]
        assert got == want, sql
