"""Expressions: every form, SQLite's precedence and associativity.

``sx`` renders an expression as an s-expression so shapes read at a glance.
The hypothesis test prints random operator chains fully parenthesised from our
tree and checks that sqlite3 computes the same value for both texts, which
holds only if we grouped them as SQLite does.
"""

import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from limbodb.errors import OperationalError
from limbodb.parser import ast as A
from limbodb.parser import parse_one


def expr(sql):
    stmt, _ = parse_one("SELECT " + sql)
    return stmt.cores[0].columns[0].expr


def sx(n):
    """Compact s-expression of an expression tree."""
    c = n.__class__
    if c is A.Literal:
        return repr(n.value)
    if c is A.Column:
        return ".".join(x for x in (n.schema, n.table, n.name) if x is not None)
    if c is A.Unary:
        return f"({n.op} {sx(n.operand)})"
    if c is A.Binary:
        return f"({n.op} {sx(n.left)} {sx(n.right)})"
    if c is A.Like:
        esc = f" ESCAPE {sx(n.escape)}" if n.escape is not None else ""
        return f"({'NOT ' if n.negated else ''}{n.op} {sx(n.expr)} {sx(n.pattern)}{esc})"
    if c is A.Between:
        return f"({'NOT ' if n.negated else ''}BETWEEN {sx(n.expr)} {sx(n.low)} {sx(n.high)})"
    if c is A.Is:
        return f"(IS{' NOT' if n.negated else ''} {sx(n.left)} {sx(n.right)})"
    if c is A.IsNull:
        return f"(ISNULL {sx(n.expr)})"
    if c is A.NotNull:
        return f"(NOTNULL {sx(n.expr)})"
    if c is A.Collate:
        return f"(COLLATE {sx(n.expr)} {n.collation})"
    if c is A.In:
        body = (" ".join(sx(x) for x in n.items) if n.items is not None
                else "SELECT" if n.select is not None else f"TABLE {n.table.name}")
        return f"({'NOT ' if n.negated else ''}IN {sx(n.expr)} [{body}])"
    if c is A.Vector:
        return "[" + " ".join(sx(x) for x in n.items) + "]"
    if c is A.Cast:
        return f"(CAST {sx(n.expr)} {n.type_name!r})"
    if c is A.Param:
        return f"?{n.index}"
    if c is A.FunctionCall:
        return f"{n.name}({'*' if n.star else ' '.join(sx(a) for a in n.args)})"
    raise AssertionError(c)


@pytest.mark.parametrize("sql, tree", [
    ("1 + 2 * 3", "(+ 1 (* 2 3))"),
    ("1 - 2 - 3", "(- (- 1 2) 3)"),
    ("1 / 2 % 3 * 4", "(* (% (/ 1 2) 3) 4)"),
    ("a OR b AND c", "(OR a (AND b c))"),
    ("a AND b OR c", "(OR (AND a b) c)"),
    ("NOT a AND b", "(AND (NOT a) b)"),
    ("NOT a = b", "(NOT (= a b))"),
    ("1 = NOT 0", "(= 1 (NOT 0))"),
    ("a = b = c", "(= (= a b) c)"),
    ("a < b = c", "(= (< a b) c)"),
    ("a = b < c", "(= a (< b c))"),
    ("a == b <> c != d", "(!= (!= (= a b) c) d)"),
    ("a & b + c", "(& a (+ b c))"),
    ("a << 1 | 2", "(| (<< a 1) 2)"),
    ("a < b & c", "(< a (& b c))"),
    ("a || b * c", "(* (|| a b) c)"),
    ("a -> 'x' ->> 'y' || b", "(|| (->> (-> a 'x') 'y') b)"),
    ("-a * b", "(* (- a) b)"),
    ("- - 1", "(- (- 1))"),
    ("~a + +b", "(+ (~ a) (+ b))"),
    ("-a COLLATE x", "(COLLATE (- a) x)"),
    ("a || b COLLATE nocase", "(|| a (COLLATE b nocase))"),
    ("a COLLATE x COLLATE y", "(COLLATE (COLLATE a x) y)"),
    ("a LIKE b || c", "(LIKE a (|| b c))"),
    ("a LIKE b < c", "(LIKE a (< b c))"),
    ("a = b LIKE c", "(LIKE (= a b) c)"),
    ("a LIKE b ESCAPE c", "(LIKE a b ESCAPE c)"),
    ("a NOT GLOB b", "(NOT GLOB a b)"),
    ("a REGEXP b AND c MATCH d", "(AND (REGEXP a b) (MATCH c d))"),
    ("a BETWEEN 1 AND 2 AND c", "(AND (BETWEEN a 1 2) c)"),
    ("a NOT BETWEEN b + 1 AND c * 2", "(NOT BETWEEN a (+ b 1) (* c 2))"),
    ("a BETWEEN 1 = 0 AND 2", "(BETWEEN a (= 1 0) 2)"),
    ("a IS b", "(IS a b)"),
    ("a IS NOT b + 1", "(IS NOT a (+ b 1))"),
    ("a IS DISTINCT FROM b", "(IS NOT a b)"),
    ("a IS NOT DISTINCT FROM b", "(IS a b)"),
    ("a IS NULL", "(ISNULL a)"),
    ("a IS NOT NULL", "(NOTNULL a)"),
    ("a ISNULL", "(ISNULL a)"),
    ("a NOTNULL", "(NOTNULL a)"),
    ("a NOT NULL", "(NOTNULL a)"),
    ("a + 1 ISNULL", "(ISNULL (+ a 1))"),
    ("a IN (1, 2)", "(IN a [1 2])"),
    ("a NOT IN ()", "(NOT IN a [])"),
    ("a IN (SELECT 1)", "(IN a [SELECT])"),
    ("a IN t1", "(IN a [TABLE t1])"),
    ("(a, b) = (1, 2)", "(= [a b] [1 2])"),
    ("(1)", "1"),
    ("t.a + s.t.b", "(+ t.a s.t.b)"),
    ("CAST(a AS VARCHAR(10)) || CAST(b AS)", "(|| (CAST a 'VARCHAR(10)') (CAST b ''))"),
    ("CAST(a AS unsigned big int)", "(CAST a 'unsigned big int')"),
    ("?, ?5", "?1"),
    ("count(*) + max(a, b)", "(+ count(*) max(a b))"),
    ("key + action + replace", "(+ (+ key action) replace)"),
    ("left + right", "(+ left right)"),
])
def test_expression_shape(sql, tree):
    assert sx(expr(sql)) == tree


def test_literals():
    assert [(e.value, e.kind) for e in (expr(s) for s in (
        "1", "1.5", "'a'", "x'01'", "NULL", "TRUE", "false", "CURRENT_TIME", "CURRENT_DATE",
        "current_timestamp", "0x10", "0xFFFFFFFFFFFFFFFF"))] == [
        (1, A.LIT_VALUE), (1.5, A.LIT_VALUE), ("a", A.LIT_VALUE), (b"\x01", A.LIT_VALUE),
        (None, A.LIT_VALUE), (1, A.LIT_TRUE), (0, A.LIT_FALSE), (None, A.LIT_CURRENT_TIME),
        (None, A.LIT_CURRENT_DATE), (None, A.LIT_CURRENT_TIMESTAMP), (16, A.LIT_VALUE),
        (-1, A.LIT_VALUE)]


def test_integer_overflow_matches_sqlite():
    con = sqlite3.connect(":memory:")
    for sql in ("9223372036854775807", "9223372036854775808", "-9223372036854775808",
                "-(9223372036854775808)", "99999999999999999999"):
        e = expr(sql)
        want = con.execute("SELECT " + sql).fetchone()[0]
        got = e.value if e.__class__ is A.Literal else -e.operand.value
        assert got == want and type(got) is type(want), sql


def test_quoted_identifiers_are_columns_and_remember_double_quotes():
    e = expr('"true"')
    assert e.__class__ is A.Column and e.name == "true" and e.dq
    assert expr("[true]").__class__ is A.Column and not expr("[true]").dq
    assert expr("`a`").name == "a"


def test_not_exists_folds_into_exists():
    e = expr("NOT EXISTS (SELECT 1)")
    assert e.__class__ is A.Exists and e.negated
    assert expr("EXISTS (SELECT 1)").negated is False


def test_scalar_subquery():
    e = expr("(SELECT 1) + 1")
    assert e.__class__ is A.Binary and e.left.__class__ is A.Subquery


def test_case_forms():
    e = expr("CASE a WHEN 1 THEN 'x' WHEN 2 THEN 'y' ELSE 'z' END")
    assert sx(e.base) == "a" and [(sx(w), sx(t)) for w, t in e.whens] == [("1", "'x'"), ("2", "'y'")]
    assert sx(e.else_) == "'z'"
    e = expr("CASE WHEN a THEN 1 END")
    assert e.base is None and e.else_ is None


def test_function_call_parts():
    e = expr("count(DISTINCT a)")
    assert e.distinct and [sx(a) for a in e.args] == ["a"]
    e = expr("group_concat(a, ',' ORDER BY b DESC) FILTER (WHERE a > 1) OVER w")
    assert [sx(t.expr) for t in e.order_by] == ["b"] and e.order_by[0].desc
    assert sx(e.filter) == "(> a 1)" and e.over == "w"
    e = expr("f()")
    assert e.args == [] and not e.star
    e = expr("sum(a) OVER (base PARTITION BY b, c ORDER BY d RANGE BETWEEN 2 PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE TIES)")
    w = e.over
    assert w.base == "base" and [sx(x) for x in w.partition_by] == ["b", "c"]
    assert w.frame.units == "RANGE" and w.frame.exclude == "TIES"
    assert (w.frame.start.kind, sx(w.frame.start.expr)) == ("PRECEDING", "2")
    assert w.frame.end.kind == "UNBOUNDED FOLLOWING"
    e = expr("sum(a) OVER (ROWS CURRENT ROW)")
    assert e.over.frame.start.kind == "CURRENT ROW" and e.over.frame.end is None


def test_raise():
    e = expr("RAISE(ABORT, 'msg')")
    assert e.action == "ABORT" and e.message.value == "msg"
    assert expr("RAISE(IGNORE)").action == "IGNORE"


def test_parameters_are_numbered_as_sqlite_does():
    stmt, _ = parse_one("SELECT ?, :a, ?5, :a, ?, @b, ?2")
    params = [c.expr for c in stmt.cores[0].columns]
    assert [(p.index, p.name) for p in params] == [
        (1, None), (2, ":a"), (5, "?5"), (2, ":a"), (6, None), (7, "@b"), (2, "?2")]
    assert stmt.param_count == 7
    assert stmt.param_names == {2: ":a", 5: "?5", 7: "@b"}


def test_parameter_names_match_sqlite():
    sql = "SELECT :x, ?3, $y, :x, @z, ?"
    stmt, _ = parse_one(sql)
    con = sqlite3.connect(":memory:")
    # sqlite3 reports the count through its binding error.
    with pytest.raises(sqlite3.ProgrammingError, match=f"uses {stmt.param_count},"):
        con.execute(sql)


# ---------------------------------------------------------------- differential

_ATOMS = st.sampled_from(["0", "1", "2", "3", "-1", "NULL", "'a'", "'b'"])
_BINOPS = st.sampled_from([
    "+", "-", "*", "/", "%", "||", "&", "|", "<<", ">>", "=", "==", "!=", "<>", "<", "<=", ">",
    ">=", "AND", "OR", "IS", "IS NOT", "LIKE", "GLOB", "NOT LIKE", "BETWEEN 0 AND", "NOT BETWEEN 2 AND"])
_PREFIX = st.sampled_from(["", "", "", "-", "~", "NOT ", "+"])
_POSTFIX = st.sampled_from(["", "", "", "", " ISNULL", " NOTNULL", " NOT NULL", " IS NULL",
                            " COLLATE nocase", " BETWEEN 1 AND 2", " IN (1, 2)", " NOT IN (0)"])


@st.composite
def _chains(draw):
    n = draw(st.integers(1, 6))
    parts = [draw(_PREFIX) + draw(_ATOMS) + draw(_POSTFIX)]
    for _ in range(n - 1):
        parts.append(draw(_BINOPS))
        parts.append(draw(_PREFIX) + draw(_ATOMS) + draw(_POSTFIX))
    return " ".join(parts)


def _paren(n):
    """Fully parenthesised SQL for ``n`` (the subset the strategy produces)."""
    c = n.__class__
    if c is A.Literal:
        return "NULL" if n.value is None else repr(n.value) if isinstance(n.value, str) else str(n.value)
    if c is A.Unary:
        return f"({n.op} {_paren(n.operand)})"
    if c is A.Binary:
        return f"({_paren(n.left)} {n.op} {_paren(n.right)})"
    if c is A.Like:
        return f"({_paren(n.expr)} {'NOT ' if n.negated else ''}{n.op} {_paren(n.pattern)})"
    if c is A.Between:
        return f"({_paren(n.expr)} {'NOT ' if n.negated else ''}BETWEEN {_paren(n.low)} AND {_paren(n.high)})"
    if c is A.Is:
        return f"({_paren(n.left)} IS {'NOT ' if n.negated else ''}{_paren(n.right)})"
    if c is A.IsNull:
        return f"({_paren(n.expr)} ISNULL)"
    if c is A.NotNull:
        return f"({_paren(n.expr)} NOTNULL)"
    if c is A.Collate:
        return f"({_paren(n.expr)} COLLATE {n.collation})"
    if c is A.In:
        return f"({_paren(n.expr)} {'NOT ' if n.negated else ''}IN ({', '.join(_paren(x) for x in n.items)}))"
    raise AssertionError(c)


_CON = sqlite3.connect(":memory:")


@settings(max_examples=300, deadline=None)
@given(_chains())
def test_grouping_matches_sqlite(sql):
    try:
        want = _CON.execute("SELECT " + sql).fetchone()[0]
    except sqlite3.OperationalError as e:
        with pytest.raises(OperationalError) as info:
            expr(sql)
        assert str(info.value) == str(e)
        return
    got = _CON.execute("SELECT " + _paren(expr(sql))).fetchone()[0]
    assert got == want or (got != got and want != want)
