"""Differential tests of the math functions against sqlite3 (built with SQLITE_ENABLE_MATH_FUNCTIONS)."""

import math
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from limbodb.functions import FUNCTIONS

ONE = ["ceil", "ceiling", "floor", "trunc", "ln", "log", "log10", "log2", "exp", "acos", "asin", "atan", "cos", "sin",
       "tan", "tanh", "sqrt", "acosh", "asinh", "atanh", "cosh", "sinh", "degrees", "radians"]
TWO = ["pow", "power", "mod", "atan2", "log"]

numbers = st.one_of(
    st.none(),
    st.integers(min_value=-2**63, max_value=2**63 - 1),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=False),
    st.floats(min_value=-3, max_value=3),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1000.0, -1000.0, float("inf"), float("-inf"), 1e308]),
    st.sampled_from(["2", "1.5", "abc", "", " 3 ", "1e2", b"2"]),
)


@pytest.fixture(scope="module")
def db():
    if sqlite3.connect(":memory:").execute("SELECT count(*) FROM pragma_function_list WHERE name='sin'").fetchone()[0] == 0:
        pytest.skip("the stdlib sqlite3 lacks math functions")
    conn = sqlite3.connect(":memory:")
    yield conn
    conn.close()


def same(a, b):
    if a.__class__ is not b.__class__:
        return False
    if a.__class__ is float:
        return a == b or math.isclose(a, b, rel_tol=1e-15)
    return a == b


def check(db, name, *args):
    expect = db.execute(f"SELECT {name}({', '.join('?' * len(args))})", args).fetchone()[0]
    got = FUNCTIONS.lookup(name, len(args)).fn(*args)
    assert same(got, expect), f"{name}{args!r}: limbodb {got!r} sqlite3 {expect!r}"


@settings(max_examples=300, deadline=None)
@given(numbers)
def test_one_argument_math_matches_sqlite(db, x):
    for name in ONE:
        check(db, name, x)


@settings(max_examples=300, deadline=None)
@given(numbers, numbers)
def test_two_argument_math_matches_sqlite(db, x, y):
    for name in TWO:
        check(db, name, x, y)


def test_math_edges(db):
    for x in [0, 1, -1, 0.0, -0.0, 2, -8, 10, 1e308, float("inf"), float("-inf"), 0.5, -0.5]:
        for name in ONE:
            check(db, name, x)
        for y in [0, 1, -1, 0.5, 1 / 3, 2, 3, -3, 400, float("inf"), -0.0]:
            for name in TWO:
                check(db, name, x, y)
    check(db, "pi")
