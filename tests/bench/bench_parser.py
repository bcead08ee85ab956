"""Parser cost per statement: tokenizing and parsing typical ~90-character statements.

Run: python tests/bench/bench_parser.py [repeats]

Parses each statement ``repeats`` times (default 20,000) with ``parse_one`` and
tokenizes it with ``tokenize``, printing microseconds per call. sqlite3 has no
parse-only entry point, so there is no ratio here; the target is well under
100 µs per statement (measured ~20-25 µs on CPython 3.11).
"""

import sys
import time

from limbodb.parser import parse_one
from limbodb.parser.lexer import tokenize

STATEMENTS = [
    "SELECT a, b + 1 AS x FROM t1 WHERE a > ? AND b LIKE 'abc%' ORDER BY a DESC LIMIT 10",
    "INSERT INTO t1 (a, b, c) VALUES (?, ?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b",
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x', c REAL CHECK (c > 0))",
    "UPDATE t1 SET b = b || '!', c = c * 2 WHERE a IN (SELECT a FROM t2 WHERE c IS NOT NULL)",
]


def per_call(fn, sql, repeats):
    start = time.perf_counter()
    for _ in range(repeats):
        fn(sql)
    return (time.perf_counter() - start) / repeats * 1e6


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    for sql in STATEMENTS:
        parse_us = per_call(parse_one, sql, repeats)
        lex_us = per_call(tokenize, sql, repeats)
        print(f"{len(sql):3d} chars  parse_one {parse_us:6.1f} us  tokenize {lex_us:6.1f} us  {sql[:40]}...")


if __name__ == "__main__":
    main()
