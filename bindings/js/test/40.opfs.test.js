// The browser path in Node: limbodb on a fake OPFS (fake-opfs.js) inside an
// engine served over a MessageChannel exactly as worker.js serves a page, and
// a page-side Database over protocol.js's RemoteEngine.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { MessageChannel } from "node:worker_threads";
import { Database } from "../../../npm/dist/database.js";
import { createOpfsEngine, OpfsFiles } from "../../../npm/dist/opfs.js";
import { RemoteEngine, serve } from "../../../npm/dist/protocol.js";
import { FakeDirectory } from "./fake-opfs.js";
import { pyodideParts, SqliteError, sqlite3Read, tempDir } from "./support.js";

const DB = "app/data.db";
const root = new FakeDirectory();
let parts;
const ports = [];

// A "page": a RemoteEngine whose worker side builds an OPFS engine on `root`.
function page() {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  serve(port1, () => createOpfsEngine({ ...parts, root }));
  return new RemoteEngine(port2);
}

async function open(engine, name = DB, options = {}) {
  return new Database(engine, name, options)._connect();
}

before(async () => {
  parts = await pyodideParts();
});
after(() => {
  for (const p of ports) p.close();
});

let first;

test("a page creates, fills and queries a database in OPFS through the worker protocol", async () => {
  first = page();
  const db = await open(first);
  await db.exec("create table notes(id integer primary key, body text, data blob)");
  const ins = db.prepare("insert into notes(body, data) values (?, ?)");
  for (let i = 0; i < 50; i++) await ins.run(`note ${i}`, new Uint8Array([i, i + 1]));
  const row = await db.get("select body, data from notes where id = ?", 10);
  assert.equal(row.body, "note 9");
  assert.deepEqual([...row.data], [9, 10]);
  const stmt = db.prepare("select id from notes");
  assert.throws(() => stmt.columns(), TypeError, "through a worker, columns are known once the prepare has come back");
  await stmt.get();
  assert.deepEqual(stmt.columns().map((c) => c.name), ["id"]);
  await db.close();
  assert.ok(root.file(DB).size > 0, "the database file holds the checkpointed pages");
});

test("errors cross the protocol as SqliteError with SQLite's code, and inTransaction follows", async () => {
  const db = await open(first);
  await assert.rejects(db.exec("insert into nowhere values (1)"), (e) => e instanceof SqliteError && e.code === "SQLITE_ERROR" && e.message === "no such table: nowhere");
  const stmt = db.prepare("selec 1");
  await assert.rejects(stmt.all(), { code: "SQLITE_ERROR", message: 'near "selec": syntax error' });
  await db.exec("begin");
  assert.equal(db.inTransaction, true);
  await db.exec("rollback");
  assert.equal(db.inTransaction, false);
  await assert.rejects(db.get("select ? as a", 1, 2), RangeError);
  await db.close();
});

test("a second tab gets SQLITE_BUSY 'database is locked' while the file is open", async () => {
  const db = await open(first);
  const otherTab = new OpfsFiles(root);
  await assert.rejects(otherTab.acquire(DB), { name: "SqliteError", code: "SQLITE_BUSY", message: "database is locked" });
  const second = await open(first, DB);
  assert.equal((await second.all("select id from notes")).length, 50, "connections of one worker share the files");
  await second.close();
  await db.close();
  await otherTab.acquire(DB);
  otherTab.release(DB);
});

test("data survives a reload: a new Pyodide instance finds it in OPFS", async () => {
  const reloaded = page();
  const db = await open(reloaded);
  assert.equal((await db.all("select id from notes")).length, 50);
  assert.deepEqual(await db.get("select body from notes where id = 50"), { body: "note 49" });
  await db.close();
});

test("flush runs only when the pager syncs: a commit flushes, a read does not", async () => {
  const db = await open(first);
  const wal = root.file(DB + "-wal");
  const main = root.file(DB);
  const before = wal.flushes + main.flushes;
  await db.all("select * from notes");
  assert.equal(wal.flushes + main.flushes, before, "a read never flushes");
  await db.run("insert into notes(body) values ('more')");
  assert.ok(wal.flushes + main.flushes > before, "a commit flushes");
  await db.close();
});

test("a database exported from OPFS opens in sqlite3 with integrity_check ok", async (t) => {
  const file = path.join(tempDir(t), "exported.db");
  fs.writeFileSync(file, root.file(DB).contents());
  assert.equal(root.file(DB + "-wal").size, 0, "closing checkpointed and emptied the WAL");
  const { check, rows } = sqlite3Read(file, "notes");
  assert.deepEqual(check, ["ok"]);
  assert.equal(rows.length, 51);
  assert.deepEqual(rows[3], [4, "note 3", [3, 4]]);
});

test("in-memory databases work in the worker too; JS functions cannot cross to it", async () => {
  const db = await open(first, ":memory:");
  assert.equal(db.memory, true);
  assert.deepEqual(await db.get("select 6 * 7 as x"), { x: 42 });
  assert.throws(() => db.function("f", () => 1), { name: "TypeError", message: /through a worker/ });
  await db.close();
});
