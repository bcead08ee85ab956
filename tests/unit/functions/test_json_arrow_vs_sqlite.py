"""The ->> operator with SQLite's abbreviated paths ('a', 2, '[1]'), against sqlite3."""

import sqlite3

import pytest

import limbodb


@pytest.mark.parametrize("path", ["'a'", "'$.a'", "'b'", "1", "'[1]'", "'c.d'", "'x'"])
def test_arrow2_accepts_abbreviated_paths_like_sqlite(path):
    doc = '{"a":"s","b":[1,2.5],"c":{"d":true},"1":"one"}'
    sql = f"SELECT ?1 ->> {path}, typeof(?1 ->> {path}), ?1 -> {path}, json('[10,20]') ->> {path}"
    expect = sqlite3.connect(":memory:").execute(sql, (doc,)).fetchall()
    assert limbodb.connect(":memory:").execute(sql, (doc,)).fetchall() == expect
