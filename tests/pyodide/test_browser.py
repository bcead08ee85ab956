"""limbodb in a real browser: headless Chromium loads a page that uses the npm package.

The page (browser/page.js) creates and fills a database in the Origin Private
File System through the package's worker, sees another tab's worker refused
with SQLITE_BUSY, and sends the file's bytes back; sqlite3 checks them. A new
Chromium process on the same profile then finds the rows (persistence across
browser restarts). Skipped, saying why, when Debian's ``chromium`` is not
installed (scripts/setup.sh installs it when run as root).
"""

import http.server
import json
import os
import queue
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


def _handler(root, posts):
    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **_TYPES}

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.put((self.path, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="module")
def site(dist, tmp_path_factory):
    """A web root with the package and Pyodide laid out as npm installs them, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("site")
    modules = root / "node_modules"
    shutil.copytree(dist, modules / "limbodb" / "dist")
    shutil.copytree(NPM / "node_modules" / "pyodide", modules / "pyodide")
    for f in ("page.html", "page.js"):
        shutil.copy(HERE / "browser" / f, root / f)
    posts = queue.Queue()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(root, posts))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", posts
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    return tmp_path_factory.mktemp("chromium-profile")


def _visit(site, profile, step, timeout=180):
    """Open page.html?step=... in a fresh headless Chromium; return every POST until /result."""
    url, posts = site
    proc = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"{url}/page.html?step={step}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "HOME": str(profile)},
    )
    got = {}
    try:
        while "/result" not in got:
            path, body = posts.get(timeout=timeout)
            got[path] = body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    result = json.loads(got["/result"])
    assert result["ok"], result.get("error")
    return result["result"], got


@pytest.fixture(scope="module")
def written(site, profile):
    return _visit(site, profile, "write")


def test_a_page_creates_fills_and_queries_a_database_in_opfs(written):
    result, _ = written
    assert result["count"] == 20
    assert result["first"] == {"id": 1, "body": "note 0"}


def test_a_second_tab_gets_database_is_locked(written):
    result, _ = written
    assert result["busy"] == {"name": "SqliteError", "code": "SQLITE_BUSY", "message": "database is locked"}


def test_a_file_exported_from_opfs_opens_in_sqlite3(written, tmp_path):
    _, posts = written
    path = tmp_path / "exported.db"
    path.write_bytes(posts["/export"])
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert conn.execute("select count(*), max(body) from notes").fetchall() == [(20, "note 9")]
    finally:
        conn.close()


def test_the_data_is_still_there_after_the_browser_restarts(written, site, profile):
    result, _ = _visit(site, profile, "reload")
    assert result == {"count": 20, "last": {"id": 20, "body": "note 19"}}
