"""The limbodb shell driven as a user drives it: piped stdin, arguments, files, a terminal."""

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

SHELL = [sys.executable, "-m", "limbodb.cli"]


def run(*args, stdin="", cwd=None):
    p = subprocess.run(SHELL + list(args), input=stdin, capture_output=True, text=True, timeout=60, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def test_piped_sql_prints_result_without_banner_or_prompt():
    code, out, err = run(stdin="SELECT 1;\n")
    assert code == 0 and err == ""
    assert out == "┌───┐\n│ 1 │\n├───┤\n│ 1 │\n└───┘\n"


def test_sql_arguments_run_and_exit(tmp_path):
    db = str(tmp_path / "t.db")
    code, out, _ = run(db, "CREATE TABLE t1(a); INSERT INTO t1 VALUES (7)", "SELECT a FROM t1")
    assert code == 0
    assert "│ 7 │" in out
    assert sqlite3.connect(db).execute("SELECT a FROM t1").fetchall() == [(7,)]


def test_statements_span_lines_until_semicolon():
    code, out, _ = run("-m", "list", stdin="SELECT\n 1\n +\n 2;\nSELECT ';';\n")
    assert code == 0
    assert out == "3\n;\n"


@pytest.mark.parametrize("mode,expected", [
    ("list", "a|b\n1|x\n"),
    ("csv", "a,b\n1,x\n"),
    ("tabs", "a\tb\n1\tx\n"),
    ("line", "    a = 1\n    b = x\n"),
    ("json", '[{"a":1,"b":"x"}]\n'),
    ("quote", "1,'x'\n"),
    ("column", "a  b\n-  -\n1  x\n"),
    ("markdown", "| a | b |\n|---|---|\n| 1 | x |\n"),
    ("table", "+---+---+\n| a | b |\n+---+---+\n| 1 | x |\n+---+---+\n"),
])
def test_output_mode_option(mode, expected):
    headers = [] if mode in ("line", "json", "quote", "column", "markdown", "table") else [".headers on"]
    stdin = "\n".join(headers + ["SELECT 1 AS a, 'x' AS b;"]) + "\n"
    code, out, _ = run("-m", mode, stdin=stdin)
    assert code == 0
    assert out == expected


def test_parse_error_reads_like_tursodb_and_shell_carries_on():
    code, out, err = run("-m", "list", stdin="SELECT * FROM;\nSELECT 2;\n")
    assert err == 'Parse error: near ";": syntax error\n'
    assert out == "2\n"
    assert code != 0


def test_runtime_error_and_bail_stops_at_first_error():
    code, out, err = run("-m", "list", stdin=".bail on\nSELECT * FROM nosuch;\nSELECT 2;\n")
    assert err == "Runtime error: no such table: nosuch\n"
    assert out == ""
    assert code != 0


def test_dot_commands_tables_schema_indexes(tmp_path):
    script = """CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT);
CREATE TABLE t2(c);
CREATE INDEX i1 ON t1(b);
.tables
.schema t1
.indexes t1
.print hello world
"""
    code, out, _ = run(stdin=script)
    assert code == 0
    assert out == ("t1  t2\nCREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT);\nCREATE INDEX i1 ON t1(b);\n"
                   "i1\nhello world\n")


def test_nullvalue_separator_headers_and_show():
    code, out, _ = run(stdin=".mode list\n.nullvalue NULL\n.separator ;\nSELECT 1, NULL;\n.headers off\nSELECT 2;\n")
    assert code == 0
    assert out == "1;NULL\n1;NULL\n2\n"


def test_dump_round_trips_through_sqlite3(tmp_path):
    db = str(tmp_path / "src.db")
    setup = ("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c REAL, d BLOB);"
             "INSERT INTO t1 VALUES (1, 'it''s', 1.5, x'00ff'), (2, NULL, -2.0, NULL);"
             "CREATE INDEX i1 ON t1(b);")
    assert run(db, setup)[0] == 0
    code, dump, _ = run(db, ".dump")
    assert code == 0
    replay = sqlite3.connect(":memory:")
    replay.executescript(dump)
    assert replay.execute("SELECT * FROM t1 ORDER BY a").fetchall() == [(1, "it's", 1.5, b"\x00\xff"),
                                                                        (2, None, -2.0, None)]
    assert replay.execute("SELECT name FROM sqlite_schema WHERE type='index'").fetchall() == [("i1",)]
    assert replay.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_readonly_refuses_writes_with_sqlites_message(tmp_path):
    db = str(tmp_path / "ro.db")
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    con.close()
    code, out, err = run("--readonly", db, stdin="INSERT INTO t1 VALUES (1);\nSELECT count(*) FROM t1;\n")
    assert "attempt to write a readonly database" in err
    assert "│ 0        │" in out
    assert code != 0


def test_output_once_and_read(tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("SELECT 40 + 2;\n")
    out_file = tmp_path / "o.txt"
    once_file = tmp_path / "once.txt"
    stdin = f".mode list\n.headers off\n.once {once_file}\nSELECT 'once';\nSELECT 'stdout';\n.output {out_file}\n.read {script}\n.output\n"
    code, out, _ = run(stdin=stdin)
    assert code == 0
    assert out == "stdout\n"
    assert once_file.read_text() == "once\n"
    assert out_file.read_text() == "42\n"


def test_import_csv_creates_table_from_header(tmp_path):
    csv_file = tmp_path / "d.csv"
    csv_file.write_text("name,qty\napple,3\n\"pear, green\",5\n")
    db = str(tmp_path / "i.db")
    code, out, err = run(db, stdin=f".import --csv {csv_file} fruit\n.mode list\n.headers off\nSELECT name, qty FROM fruit;\n")
    assert code == 0, err
    assert out == "apple|3\npear, green|5\n"


def test_unknown_dot_command_is_an_error():
    code, _, err = run(stdin=".frobnicate\n")
    assert "unknown command" in err and code != 0


def test_no_shell_escape_commands():
    code, _, err = run(stdin=".system echo hi\n.shell echo hi\n")
    assert err.count("unknown command") == 2


def test_mcp_session_end_to_end(tmp_path):
    db = str(tmp_path / "m.db")
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "query", "arguments": {"sql": "CREATE TABLE t1(a INTEGER NOT NULL, b TEXT)"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
         "params": {"name": "query", "arguments": {"sql": "INSERT INTO t1 VALUES (?, ?)", "params": [1, "x"]}}},
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "list_tables", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 6, "method": "tools/call",
         "params": {"name": "describe_table", "arguments": {"table": "t1"}}},
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
         "params": {"name": "query", "arguments": {"sql": "SELECT a, b FROM t1"}}},
        {"jsonrpc": "2.0", "id": 8, "method": "tools/call",
         "params": {"name": "query", "arguments": {"sql": "SELECT * FROM nosuch"}}},
        {"jsonrpc": "2.0", "id": 9, "method": "no/such"},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in requests)
    code, out, _ = run("--mcp", db, stdin=stdin)
    assert code == 0
    replies = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert sorted(replies) == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert replies[1]["result"]["serverInfo"]["name"] == "limbodb"
    assert {t["name"] for t in replies[2]["result"]["tools"]} == {"list_tables", "describe_table", "query"}
    assert replies[4]["result"]["structuredContent"]["changes"] == 1
    assert replies[5]["result"]["structuredContent"] == {"tables": [{"name": "t1", "type": "table"}]}
    cols = replies[6]["result"]["structuredContent"]["columns"]
    assert [(c["name"], c["type"], c["notnull"]) for c in cols] == [("a", "INTEGER", True), ("b", "TEXT", False)]
    assert replies[7]["result"]["structuredContent"] == {"columns": ["a", "b"], "rows": [[1, "x"]], "changes": 0}
    assert replies[8]["result"]["isError"] is True
    assert "no such table: nosuch" in replies[8]["result"]["content"][0]["text"]
    assert replies[9]["error"]["code"] == -32601


def test_interactive_session_in_a_terminal(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = dict(os.environ, HOME=str(tmp_path), TERM="dumb")
    child = pexpect.spawn(SHELL[0], SHELL[1:], env=env, encoding="utf-8", timeout=30)
    child.expect("Connected to a transient in-memory database.")
    child.expect('Use ".open FILENAME" to reopen on a persistent database')
    child.expect_exact("limbodb> ")
    child.sendline("SELECT")
    child.expect_exact("   ...> ")
    child.sendline("6 * 7;")
    child.expect_exact("│ 42    │")
    child.expect_exact("limbodb> ")
    child.sendline("SELECT * FROM;")
    child.expect_exact('Parse error: near ";": syntax error')
    child.expect_exact("limbodb> ")
    child.sendintr()
    child.expect_exact("limbodb> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert os.path.exists(tmp_path / ".limbodb_history")


def test_ctrl_c_interrupts_a_running_statement_and_the_shell_carries_on(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = dict(os.environ, HOME=str(tmp_path), TERM="dumb")
    child = pexpect.spawn(SHELL[0], SHELL[1:] + ["-m", "list"], env=env, encoding="utf-8", timeout=60)
    child.expect_exact("limbodb> ")
    child.sendline("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;")
    time.sleep(1.5)
    child.sendintr()
    child.expect_exact("Runtime error: interrupted")
    child.expect_exact("limbodb> ")
    child.sendline("SELECT 5;")
    child.expect_exact("\r\n5\r\n")
    child.expect_exact("limbodb> ")
    child.sendeof()
    child.expect(pexpect.EOF)


def test_echo_timer_and_changes(tmp_path):
    code, out, _ = run("-m", "list", stdin=".echo on\n.changes on\n.timer on\nCREATE TABLE t1(a);\n"
                                        "INSERT INTO t1 VALUES (1), (2);\n")
    assert code == 0
    lines = out.splitlines()
    assert ".changes on" in lines and "CREATE TABLE t1(a);" in lines
    assert "changes: 2   total_changes: 2" in lines
    assert any(l.startswith("Run Time: real ") for l in lines)


def test_echo_option_and_cmd_option_and_quiet():
    code, out, _ = run("-e", "-q", "-m", "list", "-c", ".print first", stdin="SELECT 1;\n")
    assert code == 0
    assert out == ".print first\nfirst\nSELECT 1;\n1\n"


def test_version_and_help_options():
    code, out, _ = run("-V")
    assert code == 0 and out.startswith("limbodb ")
    code, out, _ = run("--help")
    assert code == 0 and "--output-mode" in out and "--mcp" in out


def test_databases_and_show(tmp_path):
    db = str(tmp_path / "d.db")
    code, out, _ = run(db, stdin=".databases\n.show\n")
    assert code == 0
    assert out.splitlines()[0] == f"main: {db} r/w"
    assert "        mode: box" in out and f"    filename: {db}" in out


def test_explain_mode_shows_bytecode():
    code, out, _ = run(stdin=".explain on\nEXPLAIN SELECT 1;\n")
    assert code == 0
    assert "addr" in out and "opcode" in out and "ResultRow" in out and "Halt" in out


def test_dump_of_one_table_and_import_skip(tmp_path):
    csv_file = tmp_path / "d.csv"
    csv_file.write_text("junk line\nx,y\n1,2\n")
    db = str(tmp_path / "i.db")
    code, out, err = run(db, stdin=f"CREATE TABLE other(z);\n.import --csv --skip 1 {csv_file} t1\n.dump t1\n")
    assert code == 0, err
    assert "CREATE TABLE other" not in out
    assert 'INSERT INTO "t1" VALUES(\'1\',\'2\');' in out or "INSERT INTO t1 VALUES('1','2');" in out


def test_shell_opens_an_encrypted_database_given_its_key(tmp_path):
    db = tmp_path / "enc.db"
    key = "cd" * 32
    uri = f"file:{db}?cipher=aes256gcm&hexkey={key}"
    assert run(uri, "CREATE TABLE t1(a); INSERT INTO t1 VALUES (5)")[0] == 0
    code, out, err = run("-m", "list", uri, "SELECT a FROM t1")
    assert (code, out) == (0, "5\n"), err
    code, _, err = run(str(db), "SELECT a FROM t1")
    assert code != 0 and "encrypted" in err
    code, out, _ = run(stdin=".help\n")
    assert "PRAGMA cipher" in out and "hexkey" in out
