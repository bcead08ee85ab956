"""The ``.sqltest`` runner: every ``tests/sql/**/*.sqltest`` case against limbodb, sqlite3 as the oracle.

Reads Turso's SQL test DSL (turso-test-runner/docs/dsl-spec.md): ``#``
comments, ``@database :memory:`` / ``:temp:``, named ``setup name { SQL }``
blocks, the ``@setup name`` and ``@skip "reason"`` decorators, and
``test name { SQL } expect [error|pattern|unordered] { ... }``. Cases marked
``@skip``, ``@backend`` (another runner's) or in a ``@skip-file`` file are not
collected; ``@skip-if``/``@requires`` are read and ignored, ``snapshot``
blocks (Turso bytecode) are read and dropped. Rows print as
the sqlite3 shell's list mode does: columns joined by ``|``, NULL as the
empty string, REAL as SQLite's ``%!.15g``. ``expect error`` passes when the
message contains the block's text (any error for an empty block); ``expect
pattern`` matches the whole output with a regex. Each case runs on a fresh
database with the standard ``sqlite3`` module, which must satisfy the
expectation (so a wrong expectation is caught), and then with ``limbodb``.
"""

import math
import pathlib
import re
import sqlite3
from dataclasses import dataclass, field

import pytest

import limbodb

HERE = pathlib.Path(__file__).parent


@dataclass(repr=False)
class SqlTest:
    name: str
    sql: str
    mode: str              # "exact", "unordered", "pattern" or "error"
    expected: list         # expected lines (for "pattern" and "error": one text)
    setups: list = field(default_factory=list)
    skip: str = None
    line: int = 0

    def __repr__(self):
        return f"<SqlTest {self.name}>"


@dataclass(repr=False)
class SqlTestFile:
    path: str
    databases: list = field(default_factory=list)
    setups: dict = field(default_factory=dict)
    tests: list = field(default_factory=list)
    skip: str = None

    def __repr__(self):
        return f"<SqlTestFile {self.path}>"


class SqlTestSyntaxError(Exception):
    pass


_TOKEN = re.compile(r'\s*(?:(#[^\n]*)|(@[\w-]+)|(\{)|("(?:[^"\\]|\\.)*")|([^\s{]+))')


def _block(text, i, path):
    """(content, end) of the ``{...}`` block whose ``{`` is at ``text[i]``; braces nest."""
    depth = 0
    j = i
    while j < len(text):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j], j + 1
        j += 1
    raise SqlTestSyntaxError(f"{path}: unclosed block at offset {i}")


def _lines(block):
    return [ln.strip() for ln in block.splitlines() if ln.strip()]


def parse_sqltest(text, path="<string>"):
    """Parse the text of a .sqltest file."""
    out = SqlTestFile(path)
    pos = 0
    pending_setups = []
    pending_skip = None

    def next_token():
        nonlocal pos
        while True:
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                return None
            pos = m.end()
            if m.group(1) is not None:
                continue
            if m.group(3) is not None:
                content, pos = _block(text, m.start(3), path)
                return ("block", content)
            return ("word", m.group(2) or m.group(4) or m.group(5))

    def expect_block():
        tok = next_token()
        if tok is None or tok[0] != "block":
            raise SqlTestSyntaxError(f"{path}: expected a {{...}} block near offset {pos}")
        return tok[1]

    while True:
        tok = next_token()
        if tok is None:
            break
        kind, value = tok
        if kind != "word":
            raise SqlTestSyntaxError(f"{path}: unexpected block near offset {pos}")
        if value == "@database":
            out.databases.append(next_token()[1])
        elif value == "@setup":
            pending_setups.append(next_token()[1])
        elif value == "@skip":
            pending_skip = next_token()[1].strip('"')
        elif value == "@skip-file":
            out.skip = next_token()[1].strip('"')
        elif value in ("@skip-if", "@skip-file-if", "@requires", "@requires-file"):
            # Conditions (mvcc) and capabilities (trigger, strict, ...) of Turso's runner: the
            # condition never holds here, and a missing capability shows up as a failure.
            next_token()
            next_token()
        elif value == "@backend":
            # Cases for one of Turso's backends (rust, cli, js) are not limbodb's.
            pending_skip = "backend " + next_token()[1]
        elif value == "snapshot":
            # EXPLAIN snapshots compare Turso's own bytecode; there is nothing to check here.
            next_token()
            expect_block()
            pending_setups = []
            pending_skip = None
        elif value == "setup":
            name = next_token()[1]
            if name in out.setups:
                raise SqlTestSyntaxError(f"{path}: duplicate setup {name}")
            out.setups[name] = expect_block()
        elif value == "test":
            name = next_token()[1]
            line = text.count("\n", 0, pos) + 1
            sql = expect_block()
            if next_token() != ("word", "expect"):
                raise SqlTestSyntaxError(f"{path}: test {name} has no expect block")
            mode = "exact"
            save = pos
            tok = next_token()
            if tok[0] == "word":
                if tok[1] not in ("error", "pattern", "unordered"):
                    raise SqlTestSyntaxError(f"{path}: unknown expect modifier {tok[1]}")
                mode = tok[1]
            else:
                pos = save
            body = expect_block()
            expected = _lines(body) if mode in ("exact", "unordered") else [body.strip()]
            for s in pending_setups:
                if s not in out.setups:
                    raise SqlTestSyntaxError(f"{path}: test {name} uses unknown setup {s}")
            if any(t.name == name for t in out.tests):
                raise SqlTestSyntaxError(f"{path}: duplicate test {name}")
            out.tests.append(SqlTest(name, sql, mode, expected, pending_setups, pending_skip, line))
            pending_setups = []
            pending_skip = None
        else:
            raise SqlTestSyntaxError(f"{path}: unexpected {value!r} near offset {pos}")
    if not out.databases:
        raise SqlTestSyntaxError(f"{path}: no @database declaration")
    return out


def split_statements(sql, complete_statement):
    """The statements of ``sql`` (each ending with ';'), split where ``complete_statement`` agrees."""
    out = []
    start = 0
    i = sql.find(";")
    while i >= 0:
        chunk = sql[start:i + 1]
        if complete_statement(chunk):
            if chunk.strip() != ";":
                out.append(chunk.strip())
            start = i + 1
        i = sql.find(";", i + 1)
    rest = sql[start:].strip()
    if rest:
        out.append(rest)
    return out


def format_value(v):
    """A value as the sqlite3 shell's list mode prints it."""
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        s = "%.15g" % v
        if "e" in s:
            mant, exp = s.split("e")
            if "." not in mant:
                mant += ".0"
            return mant + "e" + exp
        return s if "." in s else s + ".0"
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", "backslashreplace")
    return str(v)


def format_row(row):
    return "|".join(format_value(v) for v in row)


def run_script(module, path, setup_sql, sql):
    """Run setups then the test SQL with ``module`` (sqlite3 or limbodb) on a fresh database.

    Returns ("rows", [lines]) or ("error", message). Each statement runs on its
    own, as the shell does; rows of every statement are collected in order.
    """
    conn = module.connect(path, isolation_level=None)
    try:
        lines = []
        for text in (setup_sql, sql):
            for stmt in split_statements(text, module.complete_statement):
                try:
                    cur = conn.execute(stmt)
                    rows = cur.fetchall()
                except module.Error as e:
                    return "error", str(e)
                if text is sql:
                    lines.extend(format_row(r) for r in rows)
        return "rows", [ln.strip() for ln in lines if ln.strip()]
    finally:
        conn.close()


def check(test, outcome):
    """None if ``outcome`` (from run_script) satisfies ``test``, else a description of the mismatch."""
    kind, got = outcome
    if test.mode == "error":
        if kind != "error":
            return f"expected an error, got rows {got!r}"
        if test.expected[0] and test.expected[0] not in got:
            return f"expected an error containing {test.expected[0]!r}, got {got!r}"
        return None
    if kind == "error":
        return f"unexpected error: {got}"
    if test.mode == "exact":
        return None if got == test.expected else f"expected {test.expected!r}, got {got!r}"
    if test.mode == "unordered":
        return None if sorted(got) == sorted(test.expected) else f"expected (any order) {test.expected!r}, got {got!r}"
    text = "\n".join(got)
    return None if re.fullmatch(test.expected[0], text, re.S) else f"{text!r} does not match {test.expected[0]!r}"


def _cases():
    for path in sorted(HERE.rglob("*.sqltest")):
        parsed = parse_sqltest(path.read_text(), str(path.relative_to(HERE)))
        if parsed.skip is not None:
            continue
        for db in parsed.databases:
            for t in parsed.tests:
                if t.skip is None:
                    yield pytest.param(parsed, db, t, id=f"{path.relative_to(HERE)}::{t.name}[{db}]")


def _database(db, tmp_path, tag):
    if db == ":memory:":
        return ":memory:"
    if db == ":temp:":
        return str(tmp_path / f"{tag}.db")
    raise ValueError(f"unsupported @database {db}")


@pytest.mark.parametrize("parsed,db,test", list(_cases()))
def test_sqltest_case(parsed, db, test, tmp_path):
    setup_sql = "\n".join(parsed.setups[s] for s in test.setups)
    oracle = check(test, run_script(sqlite3, _database(db, tmp_path, "oracle"), setup_sql, test.sql))
    assert oracle is None, f"{parsed.path}:{test.line} expectation disagrees with sqlite3: {oracle}"
    got = check(test, run_script(limbodb, _database(db, tmp_path, "limbodb"), setup_sql, test.sql))
    assert got is None, f"{parsed.path}:{test.line} limbodb: {got}"


def test_reader_understands_turso_decorators_and_blocks():
    parsed = parse_sqltest("""
        # comment
        @database :memory:
        setup s1 { CREATE TABLE t(a); INSERT INTO t VALUES ('{x}'); }
        @setup s1
        @skip-if mvcc "not here"
        test one { SELECT a FROM t; }
        expect unordered {
            {x}
        }
        @backend js
        test two { SELECT 2; } expect { 2 }
        snapshot plan { SELECT 3; }
        test three { SELECT nope; } expect error { }
    """)
    one, two, three = parsed.tests
    assert (one.mode, one.expected, one.setups, one.skip) == ("unordered", ["{x}"], ["s1"], None)
    assert two.skip == "backend js"
    assert (three.mode, three.expected) == ("error", [""])
    assert parsed.setups["s1"].strip().startswith("CREATE TABLE t(a);")


@pytest.mark.parametrize("text", [
    "test a { SELECT 1; } expect { 1 }",
    "@database :memory:\n@setup nope\ntest a { SELECT 1; } expect { 1 }",
    "@database :memory:\ntest a { SELECT 1; }",
    "@database :memory:\ntest a { SELECT 1; } expect { 1 }\ntest a { SELECT 1; } expect { 1 }",
    "@database :memory:\ntest a { SELECT 1; expect { 1 }",
])
def test_reader_rejects_malformed_files(text):
    with pytest.raises(SqlTestSyntaxError):
        parse_sqltest(text)


def test_list_mode_formatting():
    assert format_row((None, 1, 2.0, 0.1 + 0.2, 1e20, -1.5e-7, "a|b", b"xy", float("inf"))) == \
        "|1|2.0|0.3|1.0e+20|-1.5e-07|a|b|xy|Inf"
    assert split_statements("SELECT ';'; SELECT 2;; ", sqlite3.complete_statement) == ["SELECT ';';", "SELECT 2;"]
