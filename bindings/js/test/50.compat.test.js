// limbodb/compat: the synchronous better-sqlite3-style API in Node.

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database, { SqliteError } from "../../../npm/dist/compat.js";
import { sqlite3Read, tempDir } from "./support.js";

test("new Database() opens synchronously and every call returns its result", (t) => {
  const file = path.join(tempDir(t), "sync.db");
  const db = new Database(file);
  assert.equal(db.open, true);
  db.exec("create table t(a integer primary key, b text unique)");
  const ins = db.prepare("insert into t(b) values (?)");
  assert.deepEqual(ins.run("x"), { changes: 1, lastInsertRowid: 1 });
  assert.deepEqual(ins.run("y"), { changes: 1, lastInsertRowid: 2 });
  assert.deepEqual(db.prepare("select b from t where a = ?").get(2), { b: "y" });
  assert.deepEqual(db.prepare("select b from t order by a").pluck().all(), ["x", "y"]);
  assert.deepEqual([...db.prepare("select a from t order by a").raw().iterate()], [[1], [2]]);
  assert.deepEqual([...db.iterate("select a from t where a > ?", 1)], [{ a: 2 }]);
  assert.throws(() => ins.run("x"), (e) => e instanceof SqliteError && e.code === "SQLITE_CONSTRAINT_UNIQUE");
  db.close();
  assert.equal(db.open, false);
  assert.deepEqual(sqlite3Read(file, "t").rows, [[1, "x"], [2, "y"]]);
});

test("transaction() runs a synchronous function atomically", () => {
  const db = new Database(":memory:");
  db.exec("create table t(x check (x > 0))");
  const insertAll = db.transaction((xs) => {
    for (const x of xs) db.run("insert into t values (?)", x);
    return xs.length;
  });
  assert.equal(insertAll([1, 2]), 2);
  assert.throws(() => insertAll.immediate([3, -1]), { code: "SQLITE_CONSTRAINT_CHECK" });
  assert.equal(db.inTransaction, false);
  assert.deepEqual(db.prepare("select x from t order by x").pluck().all(), [1, 2]);
  db.close();
});

test("pragma, functions and safe integers work synchronously", () => {
  const db = new Database();
  assert.equal(db.memory, true);
  db.pragma("user_version = 3");
  assert.equal(db.pragma("user_version", { simple: true }), 3);
  db.function("twice", (x) => x * 2);
  assert.equal(db.prepare("select twice(21)").pluck().get(), 42);
  assert.deepEqual(db.prepare("select 5 as n").safeIntegers().get(), { n: 5n });
  db.close();
  assert.throws(() => db.exec("select 1"), TypeError);
});
