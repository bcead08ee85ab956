"""Date/time features newer than the stdlib's SQLite 3.40: timediff, 'floor'/'ceiling', the
'±YYYY-MM-DD HH:MM:SS' modifier and the newer strftime conversions. No newer SQLite is
available here, so expected values come from SQLite's documentation and, for calendar
arithmetic, from Python's datetime (the same proleptic Gregorian calendar)."""

import datetime as pydt

import pytest
from hypothesis import given, settings, strategies as st

import limbodb


@pytest.fixture(scope="module")
def db():
    return limbodb.connect(":memory:")


def one(db, sql, *params):
    return db.execute("SELECT " + sql, params).fetchone()[0]


@pytest.mark.parametrize("sql, expected", [
    # Examples from https://sqlite.org/lang_datefunc.html
    ("timediff('2023-02-15','2023-03-15')", "-0000-01-00 00:00:00.000"),
    ("timediff('2023-03-15','2023-02-15')", "+0000-01-00 00:00:00.000"),
    ("timediff('2024-05-01 12:00:00.5','2020-02-29 01:02:03')", "+0004-02-02 10:57:57.500"),
    ("timediff('2000-01-01','2000-01-01')", "+0000-00-00 00:00:00.000"),
    ("timediff('2023-01-01', NULL)", None),
    ("timediff('bogus', '2023-01-01')", None),
    ("date('2023-01-31','+1 month')", "2023-03-03"),
    ("date('2023-01-31','+1 month','ceiling')", "2023-03-03"),
    ("date('2023-01-31','+1 month','floor')", "2023-02-28"),
    ("date('2024-01-31','+1 month','floor')", "2024-02-29"),
    ("date('2024-02-29','+1 year','floor')", "2025-02-28"),
    ("date('2023-03-31','-1 month','floor')", "2023-02-28"),
    ("date('2023-05-31','+1 month','floor')", "2023-06-30"),
    ("datetime('2023-01-31','+0001-01-01 01:30')", "2024-03-03 01:30:00"),
    ("datetime('2023-01-31','+0001-01-01 01:30','floor')", "2024-03-01 01:30:00"),
    ("datetime('2023-03-10 10:00:00','-0000-02-05 12:30:15')", "2023-01-04 21:29:45"),
    ("date('2023-01-15','+00001-00-00')", "2024-01-15"),
    ("date('2023-01-15','+0000-12-00')", None),
    ("date('2023-01-15','+0000-00-31')", None),
    ("date('2023-01-15','+0000-00-01x')", None),
    ("strftime('%e|%F|%I|%k|%l|%p|%P|%R|%T|%u', '2021-01-03 00:04:05')",
     " 3|2021-01-03|12| 0|12|AM|am|00:04|00:04:05|7"),
    ("strftime('%I %l %p %P', '2021-06-15 13:04:05')", "01  1 PM pm"),
    ("strftime('%I %l %p', '2021-06-15 12:00:00')", "12 12 PM"),
])
def test_documented_results(db, sql, expected):
    assert one(db, sql) == expected


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=pydt.datetime(1, 1, 1), max_value=pydt.datetime(9999, 12, 31, 23, 59, 59)))
def test_week_and_day_conversions_match_python(db, d):
    text = d.replace(microsecond=0).isoformat(" ")
    fmt = "%G|%V|%u|%U|%W|%j|%F|%T|%R|%H"
    assert one(db, "strftime(?, ?)", fmt, text) == "%04d|%s|%s|%s|%s|%s|%04d-%02d-%02d|%s|%s|%s" % (
        d.isocalendar()[0], d.strftime("%V"), d.isoweekday(), d.strftime("%U"), d.strftime("%W"),
        d.strftime("%j"), d.year, d.month, d.day, d.strftime("%H:%M:%S"), d.strftime("%H:%M"),
        d.strftime("%H"))
    assert one(db, "strftime('%g', ?)", text) == "%02d" % (d.isocalendar()[0] % 100)


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=pydt.date(1, 1, 1), max_value=pydt.date(9999, 12, 31)),
       st.dates(min_value=pydt.date(1, 1, 1), max_value=pydt.date(9999, 12, 31)))
def test_timediff_added_back_gives_the_first_date(db, a, b):
    diff = one(db, "timediff(?, ?)", a.isoformat(), b.isoformat())
    assert diff[0] in "+-" and diff.endswith(" 00:00:00.000")
    assert one(db, "date(?, ?)", b.isoformat(), diff[:11]) == a.isoformat()
