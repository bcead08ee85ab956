// Statements end to end: run/get/all/iterate, row shapes, binding and value
// mapping in both directions, column metadata, and errors with SQLite's codes.

import assert from "node:assert/strict";
import { before, after, test } from "node:test";
import { connect, SqliteError } from "./support.js";

let db;
before(async () => {
  db = await connect(":memory:");
  await db.exec("create table people(id integer primary key, name text unique, age integer, photo blob, score real)");
});
after(() => db.close());

test("run resolves changes and lastInsertRowid", async () => {
  const ins = db.prepare("insert into people(name, age) values (?, ?)");
  assert.deepEqual(await ins.run("ann", 31), { changes: 1, lastInsertRowid: 1 });
  assert.deepEqual(await ins.run(["bob", 42]), { changes: 1, lastInsertRowid: 2 });
  assert.deepEqual(await db.run("update people set age = age + 1"), { changes: 2, lastInsertRowid: 2 });
  assert.deepEqual(await db.run("select 1"), { changes: 0, lastInsertRowid: 2 });
  await db.run("delete from people where name in ('ann', 'bob')");
});

test("get returns the first row or undefined, all returns every row", async (t) => {
  await db.exec("create table g(a, b); insert into g values (1, 'x'), (2, 'y'), (3, 'z')");
  t.after(() => db.exec("drop table g"));
  const stmt = db.prepare("select a, b from g where a >= ? order by a");
  assert.deepEqual(await stmt.get(2), { a: 2, b: "y" });
  assert.equal(await stmt.get(9), undefined);
  assert.deepEqual(await stmt.all(2), [{ a: 2, b: "y" }, { a: 3, b: "z" }]);
  assert.deepEqual(await stmt.all(9), []);
  assert.deepEqual(await db.get("select b from g where a = ?", 1), { b: "x" });
});

test("iterate yields rows in order, and stopping early leaves the statement reusable", async (t) => {
  await db.exec("create table it(n)");
  t.after(() => db.exec("drop table it"));
  const ins = db.prepare("insert into it values (?)");
  for (let i = 0; i < 150; i++) await ins.run(i);
  const stmt = db.prepare("select n from it order by n");
  const seen = [];
  for await (const row of stmt.iterate()) seen.push(row.n);
  assert.deepEqual(seen, Array.from({ length: 150 }, (_, i) => i));
  const firstFew = [];
  for await (const row of stmt.iterate()) {
    firstFew.push(row.n);
    if (firstFew.length === 3) break;
  }
  assert.deepEqual(firstFew, [0, 1, 2]);
  assert.equal((await stmt.all()).length, 150);
  const viaDb = [];
  for await (const row of db.iterate("select n from it where n < ?", 2)) viaDb.push(row);
  assert.deepEqual(viaDb, [{ n: 0 }, { n: 1 }]);
});

test("raw and pluck shape rows as arrays or first values", async () => {
  const stmt = db.prepare("select 1 as a, 'two' as b");
  assert.deepEqual(await stmt.raw().all(), [[1, "two"]]);
  assert.deepEqual(await stmt.raw(false).get(), { a: 1, b: "two" });
  assert.deepEqual(await stmt.pluck().get(), 1);
  assert.deepEqual(await stmt.pluck().all(), [1]);
  assert.deepEqual(await stmt.pluck(false).all(), [{ a: 1, b: "two" }]);
  assert.throws(() => db.prepare("create table zz(x)").raw(), TypeError);
});

test("columns describes the result columns with their declared types as written", async () => {
  const cols = db.prepare("select id, name, age + 1 as older from people").columns();
  assert.deepEqual(cols.map((c) => [c.name, c.type]), [["id", "integer"], ["name", "text"], ["older", null]]);
  assert.equal(db.prepare("select 1").reader, true);
  assert.equal(db.prepare("delete from people").reader, false);
});

test("values map both ways: numbers, text, NULL, BigInt, booleans and blobs", async () => {
  const stmt = db.prepare("select ? as v, typeof(?) as t");
  const check = async (value, expected, type) => {
    const row = await stmt.get(value, value);
    assert.deepEqual([row.v, row.t], [expected, type]);
  };
  await check(42, 42, "integer");
  await check(-1.5, -1.5, "real");
  await check("héllo ✓", "héllo ✓", "text");
  await check(null, null, "null");
  await check(undefined, null, "null");
  await check(true, 1, "integer");
  await check(false, 0, "integer");
  await check(9007199254740993n, 9007199254740993n, "integer");
  await check(-(2n ** 63n), -(2n ** 63n), "integer");
  const blob = await stmt.get(Buffer.from([0, 255, 7]), null);
  assert.ok(Buffer.isBuffer(blob.v));
  assert.deepEqual([...blob.v], [0, 255, 7]);
  const wide = new Uint16Array([0x0102, 0x0304]);
  const fromWide = await stmt.pluck().get(wide, null);
  assert.deepEqual([...fromWide], [...new Uint8Array(wide.buffer)]);
  const empty = await stmt.pluck(false).get(new Uint8Array(0), new Uint8Array(0));
  assert.deepEqual([[...empty.v], empty.t], [[], "blob"]);
  await assert.rejects(stmt.get(2n ** 63n, 0), RangeError);
  await assert.rejects(stmt.get({}, 1), (e) => e instanceof RangeError || e instanceof TypeError);
});

test("safeIntegers returns integers as BigInt, per statement or per database", async () => {
  const stmt = db.prepare("select 1 as i, 1.5 as r, 'x' as s");
  assert.deepEqual(await stmt.safeIntegers().get(), { i: 1n, r: 1.5, s: "x" });
  assert.deepEqual(await stmt.safeIntegers(false).get(), { i: 1, r: 1.5, s: "x" });
  const other = await connect(":memory:", { defaultSafeIntegers: true });
  assert.deepEqual(await other.get("select 7 as n"), { n: 7n });
  other.defaultSafeIntegers(false);
  assert.deepEqual(await other.get("select 7 as n"), { n: 7 });
  const info = await other.prepare("create table t(x)").safeIntegers().run();
  assert.equal(typeof info.lastInsertRowid, "bigint");
  await other.close();
});

test("named parameters bind from one object whatever their prefix; ?NNN binds by number", async () => {
  assert.deepEqual(await db.get("select :a as a, @b as b, $c as c", { a: 1, b: "two", c: null }), { a: 1, b: "two", c: null });
  assert.deepEqual(await db.get("select ?2 as x, ?1 as y", 10, 20), { x: 20, y: 10 });
  await assert.rejects(db.get("select :a as a", { b: 1 }), RangeError);
  await assert.rejects(db.get("select ? as a, ? as b", 1), RangeError);
  await assert.rejects(db.get("select ? as a", 1, 2), RangeError);
});

test("bind fixes parameters for every later call", async () => {
  const stmt = db.prepare("select ? as v").bind(5);
  assert.deepEqual(await stmt.get(), { v: 5 });
  assert.deepEqual(await stmt.all(), [{ v: 5 }]);
  await assert.rejects(stmt.get(6), TypeError);
  assert.throws(() => stmt.bind(7), TypeError);
});

test("constraint failures throw SqliteError with SQLite's extended code", async () => {
  const ins = db.prepare("insert into people(name) values (?)");
  await ins.run("dup");
  await assert.rejects(ins.run("dup"), (err) => {
    assert.ok(err instanceof SqliteError);
    assert.equal(err.name, "SqliteError");
    assert.equal(err.code, "SQLITE_CONSTRAINT_UNIQUE");
    assert.equal(err.rawCode, 2067);
    assert.equal(err.message, "UNIQUE constraint failed: people.name");
    return true;
  });
  await db.run("delete from people");
});

test("SQL errors are thrown by prepare, as better-sqlite3 does", async () => {
  assert.throws(() => db.prepare("selec 1"), (err) => err instanceof SqliteError && err.code === "SQLITE_ERROR"
    && err.message === 'near "selec": syntax error');
  assert.throws(() => db.prepare("select * from nowhere"), { code: "SQLITE_ERROR", message: "no such table: nowhere" });
  assert.throws(() => db.prepare("   "), RangeError);
  assert.throws(() => db.prepare("select 1; select 2"), RangeError);
});

test("a closed statement refuses to run", async () => {
  const stmt = db.prepare("select 1");
  stmt.close();
  await assert.rejects(stmt.get(), TypeError);
});
