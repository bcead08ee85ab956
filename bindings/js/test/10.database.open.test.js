// Opening and closing databases end to end (Pyodide + limbodb + NodeIO),
// with Python's sqlite3 as the oracle for the files written.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { connect, python, SqliteError, sqlite3Read, tempDir } from "./support.js";

test("an in-memory database answers a query and reports its properties", async () => {
  const db = await connect(":memory:");
  assert.equal(db.name, ":memory:");
  assert.equal(db.memory, true);
  assert.equal(db.open, true);
  assert.equal(db.readonly, false);
  assert.equal(db.inTransaction, false);
  assert.deepEqual(await db.prepare("select 1 as one").get(), { one: 1 });
  await db.close();
  assert.equal(db.open, false);
});

test("in-memory databases are separate from each other", async () => {
  const a = await connect(":memory:");
  const b = await connect(":memory:");
  await a.exec("create table t(x)");
  await assert.rejects(b.exec("select * from t"), { name: "SqliteError", message: "no such table: t" });
  await a.close();
  await b.close();
});

test("a file written through limbodb in Node is a valid SQLite database for sqlite3", async (t) => {
  const file = path.join(tempDir(t), "w.db");
  const db = await connect(file);
  assert.equal(db.memory, false);
  await db.exec("create table t(a integer primary key, b text, c blob, d real)");
  const ins = db.prepare("insert into t(b, c, d) values (?, ?, ?)");
  for (let i = 0; i < 300; i++) await ins.run(`row ${i} ${"x".repeat(i % 50)}`, new Uint8Array([i & 255, 1, 2]), i / 4);
  await db.close();
  assert.equal(fs.existsSync(file + "-lock"), false, "close removes the lock file");
  const { check, rows } = sqlite3Read(file, "t");
  assert.deepEqual(check, ["ok"]);
  assert.equal(rows.length, 300);
  assert.deepEqual(rows[7], [8, "row 7 xxxxxxx", [7, 1, 2], 1.75]);
});

test("a database written by sqlite3 is read through limbodb in Node", async (t) => {
  const file = path.join(tempDir(t), "r.db");
  python(
    `import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("create table t(a integer primary key, b text, c blob)")
c.executemany("insert into t(b, c) values (?, ?)", [("v%d" % i, bytes([i % 256]) * 3) for i in range(500)])
c.execute("create index tb on t(b)")
c.commit()
c.close()
print(json.dumps(None))`,
    file,
  );
  const db = await connect(file, { fileMustExist: true });
  assert.equal((await db.all("select a from t")).length, 500);
  const row = await db.get("select a, b, c from t where b = ?", "v42");
  assert.equal(row.a, 43);
  assert.deepEqual([...row.c], [42, 42, 42]);
  assert.ok(Buffer.isBuffer(row.c), "blobs come back as Buffer in Node");
  await db.close();
});

test("fileMustExist refuses a missing file with SQLITE_CANTOPEN", async (t) => {
  const file = path.join(tempDir(t), "missing.db");
  await assert.rejects(connect(file, { fileMustExist: true }), (err) => {
    assert.ok(err instanceof SqliteError);
    assert.equal(err.code, "SQLITE_CANTOPEN");
    assert.equal(err.rawCode, 14);
    assert.equal(err.message, "unable to open database file");
    return true;
  });
  assert.equal(fs.existsSync(file), false);
});

test("a readonly connection refuses writes with SQLITE_READONLY", async (t) => {
  const file = path.join(tempDir(t), "ro.db");
  const rw = await connect(file);
  await rw.exec("create table t(x); insert into t values (1)");
  await rw.close();
  const ro = await connect(file, { readonly: true });
  assert.equal(ro.readonly, true);
  assert.deepEqual(await ro.all("select x from t"), [{ x: 1 }]);
  await assert.rejects(ro.exec("insert into t values (2)"), { code: "SQLITE_READONLY" });
  await ro.close();
});

test("using a closed database throws TypeError", async () => {
  const db = await connect(":memory:");
  const stmt = db.prepare("select 1");
  await db.close();
  assert.throws(() => db.prepare("select 1"), { name: "TypeError", message: "The database connection is not open" });
  await assert.rejects(db.exec("select 1"), TypeError);
  await assert.rejects(stmt.all(), TypeError);
  await db.close(); // closing twice is harmless
});

// Another process: tries the locked file, then commits a row to a second file and is killed.
const OTHER_PROCESS = `
import { connect } from ${JSON.stringify(new URL("../../../npm/dist/index.js", import.meta.url).href)};
const [locked, durable] = process.argv.slice(1);
try {
  await connect(locked);
  console.log(JSON.stringify({ opened: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message }));
}
const db = await connect(durable);
await db.exec("create table t(x)");
await db.run("insert into t values (?)", 42);
process.kill(process.pid, "SIGKILL");`;

test("another process is refused while a file is open, and its commits survive its being killed", async (t) => {
  const dir = tempDir(t);
  const locked = path.join(dir, "locked.db");
  const durable = path.join(dir, "durable.db");
  const db = await connect(locked);
  await db.exec("create table t(x); insert into t values (1)");
  assert.ok(fs.existsSync(locked + "-lock"));
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", OTHER_PROCESS, locked, durable], { encoding: "utf8" });
  assert.equal(r.signal, "SIGKILL");
  assert.deepEqual(JSON.parse(r.stdout.trim()), { name: "SqliteError", code: "SQLITE_BUSY", message: "database is locked" });
  await db.close();
  assert.equal(fs.existsSync(locked + "-lock"), false);

  fs.rmSync(durable + "-lock"); // the killed process could not remove it
  const reopened = await connect(durable);
  assert.deepEqual(await reopened.all("select x from t"), [{ x: 42 }]);
  await reopened.close();
  const { check, rows } = sqlite3Read(durable, "t");
  assert.deepEqual(check, ["ok"]);
  assert.deepEqual(rows, [[42]]);
});

test("a lock file left by a process that no longer exists is taken over", async (t) => {
  const file = path.join(tempDir(t), "stale.db");
  const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  fs.writeFileSync(file + "-lock", dead.stdout);
  const db = await connect(file);
  await db.exec("create table t(x); insert into t values (5)");
  assert.equal(fs.readFileSync(file + "-lock", "utf8").trim(), String(process.pid));
  await db.close();
});

test("a lock file of a live process is respected", async (t) => {
  const file = path.join(tempDir(t), "held.db");
  fs.writeFileSync(file + "-lock", `${process.ppid}\n`);
  await assert.rejects(connect(file), { code: "SQLITE_BUSY", message: "database is locked" });
});
