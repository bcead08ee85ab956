"""complete_statement agrees with sqlite3.complete_statement."""

import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from limbodb.parser import complete_statement

CASES = [
    "", "select 1", "select 1;", "select 1 ;  ", "select 'a;", "select 'a;';", "select \"a;\";",
    "select [a;];", "select `a;`;", "select 1 -- x;", "select 1; -- x", "select 1; -- x\n",
    "/* ; */", "/* ; */;", "select 1 /* ;", "; ", ";",
    "create trigger x after insert on t begin select 1;",
    "create trigger x after insert on t begin select 1; end",
    "create trigger x after insert on t begin select 1; end;",
    "CREATE TEMP TRIGGER x BEGIN SELECT 1; END;",
    "create temporary trigger x begin; end;",
    "explain create trigger x begin; end;",
    "explain select 1;", "create table end(a);", "create table t(trigger);", "trigger;",
    "select end; end;", "x\x0b;", "select 'it''s';", "create trigger t begin select 'end;'; end;",
]


@pytest.mark.parametrize("sql", CASES)
def test_complete_statement_matches_sqlite(sql):
    assert complete_statement(sql) == sqlite3.complete_statement(sql)


_PIECES = st.sampled_from([
    ";", " ", "\n", "select", "1", "'", "'a;'", '"', "[", "]", "`", "--", "-- c\n", "/*", "*/",
    "create", "temp", "trigger", "begin", "end", "explain", "x", "(", ")", "-", "/", "end;",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_complete_statement_matches_sqlite_on_random_text(pieces):
    sql = " ".join(pieces) if len(pieces) % 2 else "".join(pieces)
    assert complete_statement(sql) == sqlite3.complete_statement(sql)
