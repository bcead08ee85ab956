"""Syntax errors: the same message as sqlite3 for each bad statement, and an offset."""

import random
import re
import sqlite3

import pytest

from limbodb.errors import OperationalError
from limbodb.parser import parse, parse_one
from limbodb.parser.lexer import tokenize

from .corpus import SCHEMA, VALID

_SCHEMA = "CREATE TABLE t1(a, b, c); CREATE TABLE t2(a, b, c); CREATE INDEX i1 ON t2(a);"

# Each statement fails in SQLite while parsing (syntax, token or parse-time check).
BAD = [
    'SELECT',
    'SELECT 1 FROM',
    'SELECT (1',
    'SELECT 1 2',
    'SELEC 1',
    'SELECT * FROM t1 WHERE',
    'SELECT 1 +',
    "SELECT 'abc",
    'SELECT "abc',
    'SELECT [abc',
    'SELECT `abc',
    "SELECT x'abc'",
    "SELECT x'zz'",
    'SELECT 123abc',
    'SELECT 0x',
    'SELECT 1e',
    'SELECT 1e+',
    'SELECT 1.5.3',
    'SELECT :',
    'SELECT @',
    'SELECT $',
    'SELECT !',
    'SELECT 1 !',
    'SELECT ?0',
    'SELECT ?250001',
    'SELECT 0xFFFFFFFFFFFFFFFFF',
    'SELECT a.b.c.d',
    'SELECT 1 <<< 2',
    'SELECT * FROM t1 WHERE a = = 1',
    'SELECT * FROM',
    'SELECT * FROM t1 t2 t3',
    'SELECT 1 ORDER BY 1 UNION SELECT 2',
    'SELECT 1 LIMIT 1 UNION ALL SELECT 2',
    'SELECT 1 LIMIT 1 INTERSECT SELECT 2',
    'SELECT 1 ORDER BY 1 EXCEPT SELECT 2',
    'VALUES (1), (2, 3)',
    'VALUES (1) ORDER BY 1',
    'SELECT 1 UNION VALUES (2) ORDER BY 1',
    'SELECT * FROM t1 NATURAL JOIN t2 ON 1',
    'SELECT * FROM t1 NATURAL JOIN t2 USING (a)',
    'SELECT * FROM t1 OUTER JOIN t2',
    'SELECT * FROM t1 INNER OUTER JOIN t2',
    'SELECT * FROM t1 LEFT foo JOIN t2',
    'SELECT * FROM t1 a b JOIN t2',
    'SELECT CASE END',
    'SELECT CASE 1 ELSE 2 END',
    'SELECT CAST(1)',
    'SELECT CAST(1 AS',
    'SELECT count(*',
    'SELECT f(,)',
    'SELECT 1 NOT 2',
    'SELECT 1 IS',
    'SELECT 1 BETWEEN 2',
    'SELECT 1 BETWEEN 2 OR 3',
    'SELECT a LIKE',
    'SELECT 1 IN',
    'SELECT 1 IN (',
    'SELECT EXISTS 1',
    'SELECT * FROM t1 WHERE a IN (SELECT',
    'SELECT (SELECT 1',
    'SELECT 1 FROM t1 GROUP a',
    'SELECT 1 FROM t1 ORDER a',
    'INSERT t1 VALUES (1)',
    'INSERT INTO t1',
    'INSERT INTO t1 VALUES',
    'INSERT INTO t1 VALUES (1',
    'INSERT INTO t1 DEFAULT',
    'INSERT INTO t1 (a VALUES (1)',
    'INSERT OR t1 VALUES (1)',
    'INSERT OR FOO INTO t1 VALUES (1)',
    'INSERT INTO t1 VALUES (1) ON CONFLICT DO NOTHING ON CONFLICT (a) DO NOTHING',
    'INSERT INTO t1 SELECT * FROM t2 ON CONFLICT DO NOTHING',
    'INSERT INTO t1 VALUES (1) ON CONFLICT (a) DO UPDATE',
    'UPDATE t1',
    'UPDATE t1 SET',
    'UPDATE t1 SET a',
    'UPDATE t1 SET a = ',
    'UPDATE t1 SET (a, b) = ',
    'DELETE t1',
    'DELETE FROM',
    'DELETE FROM t1 WHERE',
    'CREATE',
    'CREATE TABLE',
    'CREATE TABLE t3',
    'CREATE TABLE t3(',
    'CREATE TABLE t3()',
    'CREATE TABLE t3(a,)',
    'CREATE TABLE t3(a b c d(',
    'CREATE TABLE t3(a) WITHOUT foo',
    'CREATE TABLE t3(a) foo',
    'CREATE TABLE t3(a) STRICT,',
    'CREATE TABLE t3(a PRIMARY)',
    'CREATE TABLE t3(a NOT)',
    'CREATE TABLE t3(a DEFAULT)',
    'CREATE TABLE t3(a CHECK a > 0)',
    'CREATE TABLE t3(a REFERENCES)',
    'CREATE TABLE t3(a AS (1) foo)',
    'CREATE TABLE t3(a, PRIMARY KEY)',
    'CREATE TABLE t3(a, FOREIGN KEY (a))',
    'CREATE TABLE if(x)',
    'CREATE TABLE t3(a VARCHAR(',
    'CREATE TABLE t3(a VARCHAR(x))',
    'CREATE TABLE t3(a, UNIQUE (a), b)',
    'CREATE TEMP INDEX i ON t1(a)',
    'CREATE INDEX i ON t1',
    'CREATE INDEX i ON t1()',
    'CREATE UNIQUE TABLE t(a)',
    'CREATE VIEW v',
    'CREATE VIEW v AS',
    'CREATE VIEW v AS 1',
    'CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN END',
    'CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN SELECT 1 END',
    'CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN SELECT 1;',
    'CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN INSERT INTO main.t2 VALUES (1); END',
    'CREATE TRIGGER tr AFTER INSERT ON t1 BEGIN DELETE FROM t2 INDEXED BY i1; END',
    'CREATE TRIGGER tr ON t1 BEGIN SELECT 1; END',
    'CREATE TRIGGER tr AFTER t1 BEGIN SELECT 1; END',
    'DROP',
    'DROP t1',
    'DROP TABLE',
    'DROP TABLE IF t1',
    'DROP INDEX IF NOT EXISTS i1',
    'ALTER t1',
    'ALTER TABLE t1',
    'ALTER TABLE t1 RENAME',
    'ALTER TABLE t1 RENAME TO',
    'ALTER TABLE t1 ADD',
    'ALTER TABLE t1 DROP',
    'BEGIN FOO',
    'BEGIN TRANSACTION x y',
    'COMMIT WORK',
    'ROLLBACK TO',
    'SAVEPOINT',
    'RELEASE',
    'PRAGMA',
    'PRAGMA x =',
    'PRAGMA x(',
    'PRAGMA x = (1)',
    'EXPLAIN',
    'EXPLAIN QUERY',
    'EXPLAIN QUERY PLAN',
    'ATTACH',
    "ATTACH 'x'",
    "ATTACH 'x' AS",
    'DETACH',
    'VACUUM INTO',
    'ANALYZE main.',
    'REINDEX main.',
    'WITH',
    'WITH c AS (SELECT 1)',
    'WITH c AS SELECT 1',
    'WITH c(x AS (SELECT 1) SELECT 1',
    'WITH c AS (SELECT 1) CREATE TABLE x(a)',
    'SELECT sum(a) OVER (ROWS) FROM t1',
    'SELECT sum(a) OVER (ROWS BETWEEN 1 AND 2) FROM t1',
    'SELECT sum(a) OVER (ROWS 1 PRECEDING EXCLUDE FOO) FROM t1',
    'SELECT sum(a) OVER ( FROM t1',
    'SELECT count(*) FILTER (a) FROM t1',
    'SELECT count(*) FILTER (WHERE a FROM t1',
    "SELECT RAISE(FOO, 'x')",
    'SELECT RAISE(ABORT)',
    'SELECT 1 COLLATE',
    'SELECT a FROM t1 LIMIT',
    'SELECT a FROM t1 LIMIT 1 OFFSET',
    'SELECT a FROM t1 LIMIT 1,',
    'SELECT * FROM t1 INDEXED i1',
    'SELECT * FROM t1 NOT',
    'SELECT * FROM t1 JOIN',
    'SELECT * FROM t1 JOIN t2 USING',
    'SELECT * FROM t1 JOIN t2 USING ()',
    'SELECT * FROM t1 JOIN t2 ON',
    'SELECT * FROM (',
    'SELECT * FROM ()',
    'SELECT * FROM t1 AS',
    'SELECT 1 AS',
    'SELECT DISTINCT',
    'SELECT * FROM t1 WHERE a IS DISTINCT b',
    'SELECT (1,)',
    'SELECT ()',
    'SELECT 1 = NOT',
    'SELECT -',
    'SELECT ~',
    'SELECT t1.',
    'SELECT t1.*.a',
    'SELECT *.a',
    'SELECT 1 FROM t1 HAVING',
    'SELECT 1 ESCAPE 2',
    "SELECT 'a' LIKE 'b' ESCAPE",
    'SELECT 1 1',
    'FOO',
    '(SELECT 1)',
    'SELECT 1)',
    'SELECT 1,',
    'SELECT ,1',
    'select * from t1 where a in t2 (',
    'CREATE TABLE t3(a DEFAULT (1)',
    'CREATE TABLE t3(a, CONSTRAINT)',
    'CREATE TABLE t3(a COLLATE)',
    'SELECT 9223372036854775808 x y',
    'SELECT a FROM t1 WHERE a NOT NULL NULL',
    'SELECT CURRENT_TIME(1)',
]


def _sqlite_message(sql):
    con = sqlite3.connect(":memory:")
    con.executescript(_SCHEMA)
    with pytest.raises(sqlite3.OperationalError) as info:
        con.execute(sql)
    return str(info.value)


@pytest.mark.parametrize("sql", BAD)
def test_error_message_matches_sqlite(sql):
    want = _sqlite_message(sql)
    with pytest.raises(OperationalError) as info:
        parse(sql)
    assert str(info.value) == want


@pytest.mark.parametrize("sql, offset", [
    ("SELECT 1 2", 9),
    ("SELEC 1", 0),
    ("SELECT 'abc", 7),
    ("SELECT * FROM", 13),
    ("SELECT 1 FROM t1 WHERE a = = 1", 27),
    ("SELECT 1; SELECT 2 3", 19),
])
def test_error_offset_is_the_offending_token(sql, offset):
    with pytest.raises(OperationalError) as info:
        parse(sql)
    assert info.value.error_offset == offset


@pytest.mark.parametrize("sql", [
    "SELECT * FROM t1 WHERE " + " OR ".join(["a = 1"] * 998),
    "SELECT * FROM t1 WHERE " + " OR ".join(["a = 1"] * 999),
    "SELECT * FROM t1 WHERE " + " AND ".join(["a BETWEEN 1 AND 2 + 3"] * 996),
    "SELECT * FROM t1 WHERE " + " AND ".join(["a BETWEEN 1 AND 2 + 3"] * 997),
    "SELECT " + "1 + " * 1000 + "1",
    " UNION ALL ".join(["SELECT 1"] * 500),
    " UNION ALL ".join(["SELECT 1"] * 501),
    "SELECT " + "(" * 3000 + "1" + ")" * 3000,
    "SELECT " + "abs(" * 3000 + "1" + ")" * 3000,
])
def test_size_limits_match_sqlite(sql):
    con = sqlite3.connect(":memory:")
    con.executescript(_SCHEMA)
    try:
        con.execute(sql)
        want = None
    except sqlite3.OperationalError as e:
        want = str(e)
    try:
        parse(sql)
        got = None
    except OperationalError as e:
        got = str(e)
    assert got == want


def test_error_in_a_later_statement_leaves_earlier_ones_parseable():
    sql = "SELECT 1; SELECT FROM"
    stmt, end = parse_one(sql)
    assert stmt is not None and end == 9
    with pytest.raises(OperationalError, match='near "FROM": syntax error'):
        parse_one(sql, end)


# ---------------------------------------------------------------- differential

_SYNTAX = re.compile(r'near ".*": syntax error|incomplete input|unrecognized token: .*', re.S)


def _mutants(seed, count):
    """Corpus statements with one or two tokens deleted, inserted or replaced."""
    rng = random.Random(seed)
    base = [[sql[t[2]:t[3]] for t in tokenize(sql)[:-1]]
            for sql in VALID if not sql.upper().startswith("EXPLAIN")]
    vocab = [w for words in base for w in words]
    for _ in range(count):
        words = list(rng.choice(base))
        for _ in range(rng.randint(1, 2)):
            if not words:
                break
            i = rng.randrange(len(words))
            op = rng.random()
            if op < 0.4:
                del words[i]
            elif op < 0.7:
                words.insert(i, rng.choice(vocab))
            else:
                words[i] = rng.choice(vocab)
        sql = " ".join(words)
        # The test prefixes EXPLAIN, so a text must not start like an EXPLAIN itself.
        if words and ";" not in sql and words[0].upper() not in ("EXPLAIN", "QUERY", "PLAN"):
            yield sql


@pytest.mark.parametrize("seed", range(4))
def test_mutated_statements_fail_like_sqlite(seed):
    """Where SQLite reports a syntax error we report the same one; where it
    accepts the text we do too. (SQLite's semantic errors, raised mid-parse,
    and ORDER BY inside aggregate arguments, which 3.40 lacks, are not compared.)"""
    con = sqlite3.connect(":memory:")
    con.executescript(SCHEMA)
    for sql in _mutants(seed, 250):
        try:
            con.execute("EXPLAIN " + sql)
            want = None
        except sqlite3.ProgrammingError:
            want = None
        except sqlite3.Error as e:
            want = str(e)
            if not _SYNTAX.fullmatch(want):
                continue
        try:
            parse(sql)
            got = None
        except OperationalError as e:
            got = str(e)
        if got != want and "ORDER" in sql.upper():
            continue
        assert got == want, sql
