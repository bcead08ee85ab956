// JavaScript user-defined functions and aggregates (db.function, db.aggregate).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect } from "./support.js";

let db;
before(async () => {
  db = await connect(":memory:");
  await db.exec("create table t(g, x); insert into t values (1, 1), (1, 2), (2, 10), (2, null)");
});
after(() => db.close());

test("a function receives SQL values as JS values and returns one", async () => {
  db.function("plus", (a, b) => a + b);
  db.function("describe", (v) => (v === null ? "null" : Buffer.isBuffer(v) ? `blob ${v.length}` : typeof v));
  assert.deepEqual(await db.get("select plus(2, 3) as s, plus('a', 'b') as t"), { s: 5, t: "ab" });
  assert.deepEqual(await db.prepare("select describe(?) as d").pluck().all(), ["null"]);
  const kinds = await db.prepare("select describe(1) , describe(1.5), describe('x'), describe(x'0102'), describe(null)").raw().get();
  assert.deepEqual(kinds, ["number", "number", "string", "blob 2", "null"]);
});

test("results map back: null, booleans, typed arrays as blobs", async () => {
  db.function("nullish", () => null);
  db.function("yes", () => true);
  db.function("bytes", () => new Uint16Array([0x0201]));
  const row = await db.get("select nullish() as n, yes() as y, bytes() as b, typeof(bytes()) as t");
  assert.deepEqual([row.n, row.y, [...row.b], row.t], [null, 1, [1, 2], "blob"]);
});

test("varargs functions take any number of arguments; fixed ones check the count", async () => {
  db.function("joined", { varargs: true, deterministic: true }, (...xs) => xs.join("+"));
  assert.deepEqual(await db.get("select joined() as a, joined(1, 'x', 2.5) as b"), { a: "", b: "1+x+2.5" });
  assert.throws(() => db.prepare("select plus(1)"), { code: "SQLITE_ERROR", message: "wrong number of arguments to function plus()" });
});

test("an exception in a function fails the statement as sqlite3 reports it", async () => {
  db.function("boom", () => {
    throw new Error("no");
  });
  await assert.rejects(db.get("select boom()"), { name: "SqliteError", message: "user-defined function raised exception" });
});

test("aggregates fold each group from start through step to result", async () => {
  db.aggregate("total", { start: 0, step: (acc, x) => acc + (x ?? 0) });
  db.aggregate("listing", { start: () => [], step: (acc, x) => void acc.push(x), result: (acc) => acc.join(",") });
  assert.deepEqual(await db.all("select g, total(x) as s, listing(x) as l from t group by g order by g"), [
    { g: 1, s: 3, l: "1,2" },
    { g: 2, s: 10, l: "10," },
  ]);
});

test("bad registrations are TypeErrors", () => {
  assert.throws(() => db.function("f"), TypeError);
  assert.throws(() => db.function(1, () => 1), TypeError);
  assert.throws(() => db.aggregate("a", { start: 0 }), TypeError);
  assert.throws(() => db.aggregate("a", { step: () => 0, result: 3 }), TypeError);
});
