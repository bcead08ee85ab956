// Transactions end to end: db.transaction() and its modes, explicit BEGIN/
// COMMIT through exec, batch() with and without a mode, and pragma().

import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { connect, sqlite3Read, tempDir } from "./support.js";

async function freshDb(t) {
  const db = await connect(path.join(tempDir(t), "tx.db"));
  await db.exec("create table acct(name text primary key, balance integer not null check (balance >= 0))");
  await db.exec("insert into acct values ('a', 100), ('b', 0)");
  return db;
}

const balances = (db) => db.prepare("select name, balance from acct order by name").raw().all();

test("transaction() commits the function's writes and returns its value", async (t) => {
  const db = await freshDb(t);
  const move = db.transaction(async (from, to, amount) => {
    assert.equal(db.inTransaction, true);
    await db.run("update acct set balance = balance - ? where name = ?", amount, from);
    await db.run("update acct set balance = balance + ? where name = ?", amount, to);
    return "moved";
  });
  assert.equal(await move("a", "b", 30), "moved");
  assert.equal(db.inTransaction, false);
  assert.deepEqual(await balances(db), [["a", 70], ["b", 30]]);
  await db.close();
  assert.deepEqual(sqlite3Read(path.join(path.dirname(db.name), "tx.db"), "acct").rows, [["a", 70], ["b", 30]]);
});

test("transaction() rolls back when the function throws, and rethrows", async (t) => {
  const db = await freshDb(t);
  const move = db.transaction(async (amount) => {
    await db.run("update acct set balance = balance + ? where name = 'b'", amount);
    await db.run("update acct set balance = balance - ? where name = 'a'", amount);
  });
  await assert.rejects(move(500), { code: "SQLITE_CONSTRAINT_CHECK" });
  assert.equal(db.inTransaction, false);
  assert.deepEqual(await balances(db), [["a", 100], ["b", 0]]);
  const fails = db.transaction(async () => {
    await db.run("delete from acct");
    throw new Error("changed my mind");
  });
  await assert.rejects(fails(), { message: "changed my mind" });
  assert.deepEqual(await balances(db), [["a", 100], ["b", 0]]);
  await db.close();
});

test("deferred, immediate and exclusive variants run the function in a transaction", async (t) => {
  const db = await freshDb(t);
  const fn = db.transaction(async (n) => {
    assert.equal(db.inTransaction, true);
    await db.run("update acct set balance = balance + ? where name = 'b'", n);
  });
  for (const variant of [fn.deferred, fn.immediate, fn.exclusive, fn.default]) {
    assert.equal(typeof variant, "function");
    assert.equal(variant.database, db);
    await variant(1);
  }
  assert.deepEqual(await balances(db), [["a", 100], ["b", 4]]);
  assert.throws(() => db.transaction("nope"), TypeError);
  await db.close();
});

test("BEGIN and ROLLBACK through exec, with inTransaction following them", async (t) => {
  const db = await freshDb(t);
  await db.exec("begin");
  assert.equal(db.inTransaction, true);
  await db.exec("delete from acct where name = 'a'");
  assert.deepEqual(await balances(db), [["b", 0]]);
  await db.exec("rollback");
  assert.equal(db.inTransaction, false);
  assert.deepEqual(await balances(db), [["a", 100], ["b", 0]]);
  await assert.rejects(db.exec("commit"), { code: "SQLITE_ERROR", message: "cannot commit - no transaction is active" });
  await db.close();
});

test("batch() returns one result set per statement, and with a mode is all or nothing", async (t) => {
  const db = await freshDb(t);
  const results = await db.batch([
    "insert into acct values ('c', 5)",
    { sql: "update acct set balance = balance + :amt where name = :n", args: { amt: 0, n: "c" } },
    { sql: "select name, balance from acct where name = ?", args: ["c"] },
  ]);
  assert.equal(results.length, 3);
  assert.equal(results[0].rowsAffected, 1);
  assert.deepEqual(results[2].columns, ["name", "balance"]);
  assert.deepEqual(results[2].rows, [{ name: "c", balance: 5 }]);
  await assert.rejects(db.batch(["update acct set balance = balance + 1 where name = 'c'", "update acct set balance = -1"], "immediate"), {
    code: "SQLITE_CONSTRAINT_CHECK",
  });
  assert.equal(db.inTransaction, false);
  assert.deepEqual(await db.get("select balance from acct where name = 'c'"), { balance: 5 });
  await assert.rejects(db.batch("select 1"), TypeError);
  await db.close();
});

test("pragma() returns rows, or the first value with simple", async (t) => {
  const db = await freshDb(t);
  await db.pragma("user_version = 7");
  assert.equal(await db.pragma("user_version", { simple: true }), 7);
  assert.deepEqual(await db.pragma("user_version"), [{ user_version: 7 }]);
  await assert.rejects(db.pragma(3), TypeError);
  await db.close();
});
