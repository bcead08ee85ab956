"""Differential tests of the built-in aggregates (and their window inverse) against sqlite3."""

import math
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from limbodb.errors import Error
from limbodb.functions import AGGREGATE, FUNCTIONS

MAX = 2**63 - 1
MIN = -2**63

values = st.one_of(
    st.none(),
    st.integers(min_value=MIN, max_value=MAX),
    st.integers(min_value=-100, max_value=100),
    st.sampled_from([MAX, MIN, 2**62]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.sampled_from(["12", " 3 ", "1.5", "abc", "", "1e2", "x"]),
    st.text(alphabet="ab1", max_size=3),
    st.sampled_from([b"", b"7", b"ab"]),
)


@pytest.fixture(scope="module")
def db():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t(x, s)")
    yield conn
    conn.close()


def same(a, b):
    if a.__class__ is not b.__class__:
        return False
    if a.__class__ is float:
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-9)
    return a == b


def ours(name, rows, nargs):
    acc = FUNCTIONS.lookup(name, nargs).fn()
    for row in rows:
        acc.step(*row[:nargs])
    return acc.finalize()


def check(db, call, name, rows, nargs):
    try:
        expect = db.execute(f"SELECT {call} FROM t").fetchone()[0]
    except sqlite3.Error as e:
        with pytest.raises(Error) as info:
            ours(name, rows, nargs)
        assert str(info.value) == str(e)
        return
    got = ours(name, rows, nargs)
    assert same(got, expect), f"{call} over {rows!r}: limbodb {got!r} sqlite3 {expect!r}"


CALLS = [("count(*)", "count", 0), ("count(x)", "count", 1), ("sum(x)", "sum", 1), ("total(x)", "total", 1),
         ("avg(x)", "avg", 1), ("min(x)", "min", 1), ("max(x)", "max", 1), ("group_concat(x)", "group_concat", 1),
         ("group_concat(x, s)", "group_concat", 2)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(values, st.sampled_from([",", "-", "", None, 1])), max_size=6))
def test_aggregates_match_sqlite(db, rows):
    db.execute("DELETE FROM t")
    db.executemany("INSERT INTO t VALUES (?, ?)", rows)
    for call, name, nargs in CALLS:
        check(db, call, name, rows, nargs)


def test_sum_overflow_and_types(db):
    for rows in ([(MAX, None), (1, None)], [(MAX, None), (1, None), (0.5, None)], [(1, None), ("2", None)],
                 [(1, None), (2.0, None)], [("a", None)], [(None, None)], []):
        db.execute("DELETE FROM t")
        db.executemany("INSERT INTO t VALUES (?, ?)", rows)
        for call, name, nargs in CALLS:
            check(db, call, name, rows, nargs)


def test_min_max_step_reports_the_chosen_row():
    acc = FUNCTIONS.lookup("max", 1).fn()
    assert [acc.step(v) for v in (None, 3, 1, 3, 5, None)] == [True, True, False, False, True, False]
    assert acc.finalize() == 5


def test_registry_marks_aggregates():
    assert FUNCTIONS.lookup("count", 0).kind == AGGREGATE
    assert FUNCTIONS.lookup("min", 1).kind == AGGREGATE
    assert FUNCTIONS.lookup("min", 2).kind != AGGREGATE
    assert FUNCTIONS.lookup("string_agg", 2).fn().finalize() is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-50, 50), st.floats(-100, 100), st.sampled_from(["a", "7"])),
                max_size=8))
def test_window_inverse_matches_sliding_frames(db, xs):
    db.execute("DELETE FROM t")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(x, None) for x in xs])
    for call, name in (("sum(x)", "sum"), ("count(x)", "count"), ("avg(x)", "avg"), ("total(x)", "total"),
                       ("group_concat(x)", "group_concat")):
        expect = [r[0] for r in db.execute(
            f"SELECT {call} OVER (ORDER BY rowid ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM t ORDER BY rowid")]
        acc = FUNCTIONS.lookup(name, 1).fn()
        got = []
        for i, x in enumerate(xs):
            acc.step(x)
            if i >= 3:
                acc.inverse(xs[i - 3])
            got.append(acc.value())
        assert len(got) == len(expect)
        for g, e in zip(got, expect):
            assert same(g, e), f"{call} frames over {xs!r}: limbodb {got!r} sqlite3 {expect!r}"


def test_user_aggregates_follow_the_sqlite3_module():
    class Product:
        def __init__(self):
            self.p = 1

        def step(self, x):
            self.p *= x

        def finalize(self):
            return self.p

    class Broken:
        def __init__(self):
            raise ValueError("no")

    class BadStep(Product):
        def step(self, x):
            raise ValueError("no")

    reg = FUNCTIONS.copy()
    reg.create_aggregate("product", 1, Product)
    reg.create_aggregate("broken", 1, Broken)
    reg.create_aggregate("badstep", 1, BadStep)
    acc = reg.lookup("product", 1).fn()
    for x in (2, 3, 7):
        acc.step(x)
    assert acc.finalize() == 42 and reg.lookup("product", 1).kind == AGGREGATE
    with pytest.raises(Error, match="user-defined aggregate's '__init__' method raised error"):
        reg.lookup("broken", 1).fn().step(1)
    with pytest.raises(Error, match="user-defined aggregate's 'step' method raised error"):
        reg.lookup("badstep", 1).fn().step(1)
    assert FUNCTIONS.get("product", 1) is None
