// db.serialize(): the database file's bytes after a full checkpoint, as
// better-sqlite3's serialize() gives them; sqlite3 checks what it returns
// (limbodb with the key, for an encrypted database).

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "../../../npm/dist/compat.js";
import { connect, SqliteError, sqlite3Read, tempDir } from "./support.js";

test("serialize() returns a file database's bytes, commits in its WAL included, and sqlite3 opens them", async (t) => {
  const dir = tempDir(t);
  const db = await connect(path.join(dir, "live.db"));
  await db.exec("create table notes(id integer primary key, body text, data blob)");
  const ins = db.prepare("insert into notes(body, data) values (?, ?)");
  for (let i = 0; i < 300; i++) await ins.run(`note ${i}`, new Uint8Array([i % 256, 7]));
  const bytes = await db.serialize();
  assert.ok(Buffer.isBuffer(bytes), "a Buffer in Node");
  assert.equal(bytes.length % 4096, 0);
  assert.equal(bytes.subarray(0, 16).toString("latin1"), "SQLite format 3\0");

  const copy = path.join(dir, "copy.db");
  fs.writeFileSync(copy, bytes);
  const seen = sqlite3Read(copy, "notes");
  assert.deepEqual(seen.check, ["ok"]);
  assert.equal(seen.rows.length, 300);
  assert.deepEqual(seen.rows[299], [300, "note 299", [43, 7]]);

  // The connection goes on working, and a later serialize() has the later rows.
  await db.run("insert into notes(body) values ('after')");
  fs.writeFileSync(copy, await db.serialize());
  assert.deepEqual(sqlite3Read(copy, "notes").rows.at(-1), [301, "after", null]);
  await db.close();
  await assert.rejects(db.serialize(), TypeError);
});

test("serialize() of an in-memory database gives a file sqlite3 opens", async (t) => {
  const db = await connect(":memory:");
  await db.exec("create table t(x); insert into t values (1), ('two'), (3.5)");
  const copy = path.join(tempDir(t), "mem.db");
  fs.writeFileSync(copy, await db.serialize());
  await db.close();
  assert.deepEqual(sqlite3Read(copy, "t"), { check: ["ok"], rows: [[1], ["two"], [3.5]] });
});

test("serialize() is SQLITE_BUSY while another connection's reader holds back the checkpoint", async (t) => {
  const file = path.join(tempDir(t), "busy.db");
  const writer = await connect(file);
  await writer.exec("create table t(x); insert into t values (1)");
  const reader = await connect(file);
  await reader.exec("begin");
  assert.equal((await reader.get("select count(*) as n from t")).n, 1);
  await writer.run("insert into t values (2)");
  await assert.rejects(writer.serialize(), (e) => e instanceof SqliteError && e.code === "SQLITE_BUSY");
  await reader.exec("commit");
  const copy = `${file}.copy`;
  fs.writeFileSync(copy, await writer.serialize());
  assert.deepEqual(sqlite3Read(copy, "t").rows, [[1], [2]]);
  await reader.close();
  await writer.close();
});

test("the synchronous API's serialize() returns the bytes at once", (t) => {
  const db = new Database(path.join(tempDir(t), "sync.db"));
  db.exec("create table t(x); insert into t values ('sync')");
  const bytes = db.serialize();
  db.close();
  const copy = path.join(path.dirname(db.name), "sync-copy.db");
  fs.writeFileSync(copy, bytes);
  assert.deepEqual(sqlite3Read(copy, "t"), { check: ["ok"], rows: [["sync"]] });
});

test("serialize() of an encrypted database gives its encrypted file, which opens with the key", async (t) => {
  const dir = tempDir(t);
  const encryption = { cipher: "aes256gcm", hexkey: "5c".repeat(32) };
  const db = await connect(path.join(dir, "enc.db"), { encryption });
  await db.exec("create table t(x); insert into t values ('classified')");
  const bytes = await db.serialize();
  await db.close();
  assert.equal(bytes.subarray(0, 6).toString("latin1"), "Turso\0");
  assert.equal(bytes.includes(Buffer.from("classified")), false, "no plaintext in the export");
  const copy = path.join(dir, "enc-copy.db");
  fs.writeFileSync(copy, bytes);
  const again = await connect(copy, { encryption });
  assert.deepEqual(await again.all("select x from t"), [{ x: "classified" }]);
  await again.close();
});
