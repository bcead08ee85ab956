"""limbodb in a real browser: headless Chromium loads a page that uses the npm package.

browser/drive.mjs drives Debian's ``chromium`` through playwright-core (a
devDependency in npm/) over a page served here (browser/page.html and
page.js, the package laid out as npm installs it). In one browser profile a
tab creates, fills and exports (``db.serialize()``) a database in the Origin
Private File System; a second real tab on the same origin is refused with
SQLITE_BUSY "database is locked" while the first keeps working, and opens
the database once the first closes it; the first opens it again once the
second's tab is closed; a reload finds the rows. sqlite3 checks the exported
bytes and the OPFS file itself. A new Chromium process on the same profile
then finds the rows (persistence across browser restarts), and
tests/bench/bench_browser.mjs runs at a tiny scale. Skipped, saying
why, when Debian's ``chromium`` is not installed (scripts/setup.sh installs it
when run as root).
"""

import base64
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NPM = HERE.parents[1] / "npm"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh installs it when run as root)")

_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
          ".html": "text/html", ".json": "application/json", ".zip": "application/zip"}


def _handler(root):
    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **_TYPES}

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def site(dist, tmp_path_factory):
    """A web root with the package and Pyodide laid out as npm installs them, served on 127.0.0.1."""
    assert (NPM / "node_modules" / "playwright-core").exists(), "npm/node_modules lacks playwright-core: run scripts/setup.sh"
    root = tmp_path_factory.mktemp("site")
    modules = root / "node_modules"
    shutil.copytree(dist, modules / "limbodb" / "dist")
    shutil.copytree(NPM / "node_modules" / "pyodide", modules / "pyodide")
    for f in ("page.html", "page.js"):
        shutil.copy(HERE / "browser" / f, root / f)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(root))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/page.html"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    return tmp_path_factory.mktemp("chromium-profile")


def _drive(node, site, profile, scenario, timeout=300):
    """Run browser/drive.mjs's scenario in a new headless Chromium on ``profile``; its JSON result."""
    proc = subprocess.run(
        [node, str(HERE / "browser" / "drive.mjs"), CHROMIUM, str(profile), site, scenario],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, "HOME": str(profile)},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def tabs(node, site, profile):
    return _drive(node, site, profile, "write")


def _sqlite3_reads(data, path):
    path.write_bytes(data)
    conn = sqlite3.connect(path)
    try:
        return (conn.execute("pragma integrity_check").fetchall(),
                conn.execute("select count(*), max(body) from notes").fetchall())
    finally:
        conn.close()


def test_a_page_creates_fills_and_queries_a_database_in_opfs(tabs):
    assert tabs["written"] == {"count": 20, "first": {"id": 1, "body": "note 0"}}


def test_a_second_tab_gets_database_is_locked_and_the_first_keeps_working(tabs):
    locked = {"name": "SqliteError", "code": "SQLITE_BUSY", "message": "database is locked"}
    assert tabs["busy"] == locked
    assert tabs["firstKeepsWorking"] == {"n": 21}
    again = dict(tabs["busyAgain"])
    assert again.pop("ms") < 5000, "a refusal must not wait on the lock"
    assert again == locked


def test_the_second_tab_opens_the_database_once_the_first_closes_it(tabs):
    assert tabs["secondAfterFirstCloses"] == {"n": 21, "last": "while tab B waits"}
    assert tabs["firstWhileSecondHolds"]["code"] == "SQLITE_BUSY"
    after = tabs["firstAfterSecondTabCloses"]
    assert after["n"] == 22, after


def test_the_page_reloads_and_finds_the_data(tabs):
    assert tabs["afterReload"] == {"count": 22, "last": {"id": 22, "body": "after tab B closed"}}


def test_a_database_exported_with_serialize_opens_in_sqlite3(tabs, tmp_path):
    data = base64.b64decode(tabs["exported"])
    assert data[:16] == b"SQLite format 3\0"
    assert _sqlite3_reads(data, tmp_path / "exported.db") == ([("ok",)], [(20, "note 9")])


def test_the_opfs_file_itself_opens_in_sqlite3_after_close(tabs, tmp_path):
    data = base64.b64decode(tabs["opfsFile"])
    assert _sqlite3_reads(data, tmp_path / "opfs.db") == ([("ok",)], [(22, "while tab B waits")])


def test_the_data_is_still_there_after_the_browser_restarts(tabs, node, site, profile):
    assert _drive(node, site, profile, "restart") == {"count": 22, "last": {"id": 22, "body": "after tab B closed"}}


def test_the_browser_benchmark_runs_at_a_tiny_scale(node, dist):
    bench = HERE.parents[1] / "tests" / "bench" / "bench_browser.mjs"
    proc = subprocess.run([node, str(bench), "--rows", "40", "--lookups", "10", "--repeat", "1", "--chromium", CHROMIUM],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    assert lines[1].split()[:4] == ["workload", "limbodb", "s", "sql.js"] and "limbodb/sql.js" in lines[1]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert list(rows) == ["first_row", "open", "insert", "select_pk", "select_idx", "scan"]
    assert all(rows[w][-1] == "equal" for w in ("select_pk", "select_idx", "scan")), proc.stdout
