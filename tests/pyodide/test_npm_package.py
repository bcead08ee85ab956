"""The npm package: `npm pack`, then `npm install` of the tarball in an empty folder, offline, and use it."""

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

NPM = Path(__file__).resolve().parents[2] / "npm"

USE_IT = """
import { connect, SqliteError } from "limbodb";
const db = await connect("packaged.db");
await db.exec("create table t(a integer primary key, b text unique)");
await db.run("insert into t(b) values (?), (?)", "x", "y");
let code = null;
try { await db.run("insert into t(b) values ('x')"); } catch (e) { code = e instanceof SqliteError && e.code; }
const rows = await db.all("select a, b from t order by a");
await db.close();
const { default: SyncDatabase } = await import("limbodb/compat");
const sync = new SyncDatabase("packaged.db", { readonly: true });
const count = sync.prepare("select count(*) from t").pluck().get();
sync.close();
console.log(JSON.stringify({ rows, code, count }));
"""


@pytest.fixture(scope="module")
def installed(node, tmp_path_factory):
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    packs = tmp_path_factory.mktemp("packs")
    subprocess.run([npm, "pack", "--silent", "--pack-destination", str(packs)], cwd=NPM, check=True,
                   capture_output=True, timeout=300)
    (tarball,) = packs.glob("limbodb-*.tgz")
    app = tmp_path_factory.mktemp("app")
    subprocess.run([npm, "install", "--offline", "--no-audit", "--no-fund", str(tarball)], cwd=app, check=True,
                   capture_output=True, timeout=300)
    return app


def test_the_tarball_carries_the_wheel_the_sources_and_the_types(installed):
    pkg = installed / "node_modules" / "limbodb"
    meta = json.loads((pkg / "package.json").read_text())
    assert meta["types"] == "./index.d.ts"
    assert (pkg / "index.d.ts").exists()
    assert (pkg / "compat.d.ts").exists()
    for name in ("limbodb.whl", "index.js", "compat.js", "browser.js", "worker.js", "protocol.js"):
        assert (pkg / "dist" / name).exists(), name
    assert (installed / "node_modules" / "pyodide" / "pyodide.asm.wasm").exists()


def test_an_installed_package_opens_writes_and_reads_a_database(node, installed):
    proc = subprocess.run([node, "--input-type=module", "-e", USE_IT], cwd=installed, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"rows": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], "code": "SQLITE_CONSTRAINT_UNIQUE", "count": 2}
    conn = sqlite3.connect(installed / "packaged.db")
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert conn.execute("select b from t order by a").fetchall() == [("x",), ("y",)]
    finally:
        conn.close()
