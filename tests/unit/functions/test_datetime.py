"""Differential tests of the date and time functions against sqlite3."""

import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from limbodb.functions import FUNCTIONS


class Conn:
    """The connection services the date functions use: only the clock."""

    def __init__(self, now):
        self.functions = FUNCTIONS.copy()
        self.functions.now = lambda: now


CONN = Conn(1700000000.5)


@pytest.fixture(scope="module")
def db():
    conn = sqlite3.connect(":memory:")
    yield conn
    conn.close()


def call(name, *args):
    fd = FUNCTIONS.lookup(name, len(args))
    assert fd.needs_context
    return fd.fn(CONN, *args)


def check(db, name, *args):
    sql = f"SELECT {name}({', '.join('?' * len(args))})"
    expect = db.execute(sql, args).fetchone()[0]
    got = call(name, *args)
    assert got == expect and type(got) is type(expect), f"{name}{args!r}: limbodb {got!r} sqlite3 {expect!r}"


FUNCS = ["date", "time", "datetime", "julianday", "unixepoch"]
TIME_VALUES = [
    "2020-01-01", "2020-02-29 13:45", "2021-03-04 05:06:07.891", "2021-03-04T05:06:07", "1970-01-01 00:00:00",
    "9999-12-31 23:59:59.999", "0000-01-01", "2023-02-31", "2020-13-01", "2020-01-32", "12:34", "12:34:56.5",
    "24:00", "2020-01-01 10:00Z", "2020-01-01 10:00:00+05:30", "2020-01-01 10:00 -02:00", "2020-01-01x",
    "2459000.5", "abc", "", " 2020-01-01", "2020-01-01 ", "-0010-06-15", 2459000.5, 0, 1600000000, -1, 5373484.4,
    5373484.5, None, "2020-1-1", "2020-01-01 1:00", "2020-01-01 10:00:60", "2020-01-01 10:00:00.",
]
MODIFIERS = [
    "+1 day", "-1 days", "+1.5 days", "+3 hours", "-90 minutes", "+30.25 seconds", "+1 month", "-13 months",
    "+1 year", "-2.5 years", "start of month", "start of year", "start of day", "start of week", "weekday 0",
    "weekday 3", "weekday 7", "weekday 1.5", "unixepoch", "julianday", "auto", "+01:30", "-10:30:15.5",
    "+25:00", "utc", "localtime", "+1 dayss", "  +1 day", "1 day", "+10 DAYS", "+1e2 seconds", "bogus",
    "+1000000 days",
]


def test_time_values_and_modifiers_match_sqlite(db):
    for v in TIME_VALUES:
        for f in FUNCS:
            check(db, f, v)
        for m in MODIFIERS:
            for f in FUNCS:
                check(db, f, v, m)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TIME_VALUES), st.lists(st.sampled_from(MODIFIERS), max_size=3),
       st.sampled_from(FUNCS))
def test_modifier_chains_match_sqlite(db, v, mods, f):
    check(db, f, v, *mods)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-210866760000, max_value=253402300799), st.sampled_from(FUNCS))
def test_unix_timestamps_match_sqlite(db, t, f):
    check(db, f, t, "unixepoch")
    check(db, f, t, "auto")


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-10, max_value=5373490, allow_nan=False), st.sampled_from(FUNCS))
def test_julian_day_numbers_match_sqlite(db, jd, f):
    check(db, f, jd)


STRFTIME_FORMATS = ["%d", "%f", "%H", "%j", "%J", "%m", "%M", "%s", "%S", "%w", "%W", "%Y", "%%", "%Y-%m-%d %H:%M:%S",
                    "x%dy", "%", "%Z", "%q", "", "plain"]


def test_strftime_matches_sqlite(db):
    for fmt in STRFTIME_FORMATS:
        for v in TIME_VALUES:
            check(db, "strftime", fmt, v)
            check(db, "strftime", fmt, v, "+1 day")
    check(db, "strftime", None, "2020-01-01")
    assert call("strftime") is None


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=253402300799), st.sampled_from(STRFTIME_FORMATS))
def test_strftime_of_timestamps_matches_sqlite(db, t, fmt):
    check(db, "strftime", fmt, t, "unixepoch")


def test_now_uses_the_connection_clock():
    assert call("datetime", "now") == "2023-11-14 22:13:20"
    assert call("datetime") == "2023-11-14 22:13:20"
    assert call("unixepoch", "now") == 1700000000
    assert call("unixepoch", "now", "subsec") == 1700000000.5
    assert call("time", "now", "subsec") == "22:13:20.500"
    assert FUNCTIONS.lookup("current_date", 0).fn(CONN) == "2023-11-14"
    assert FUNCTIONS.lookup("current_timestamp", 0).fn(CONN) == "2023-11-14 22:13:20"
