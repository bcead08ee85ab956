// The JS side alone, with the engine stubbed: parameter normalization, error
// transport, and the page <-> worker protocol's ordering and bookkeeping.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageChannel } from "node:worker_threads";
import { normalizeParams } from "../src/statement.js";
import { errorFromInfo, errorToInfo, SqliteError } from "../src/sqlite-error.js";
import { RemoteEngine, serve } from "../src/protocol.js";

test("parameters: several values or one array by position, one plain object by name", () => {
  assert.equal(normalizeParams([]), undefined);
  assert.deepEqual(normalizeParams([1, "a", null, true, false, 2n]), [1, "a", undefined, 1, 0, 2n]);
  assert.deepEqual(normalizeParams([[1, 2]]), [1, 2]);
  assert.deepEqual(normalizeParams([{ a: 1, b: null }]), { a: 1, b: undefined });
  const bytes = normalizeParams([new Int32Array([1]), new DataView(new ArrayBuffer(2)), new ArrayBuffer(3)]);
  assert.deepEqual(bytes.map((b) => [b.constructor.name, b.byteLength]), [["Uint8Array", 4], ["Uint8Array", 2], ["Uint8Array", 3]]);
  assert.throws(() => normalizeParams([{ a: {} }]), TypeError);
  assert.throws(() => normalizeParams([Symbol("x")]), TypeError);
});

test("errors survive being sent as plain data", () => {
  const back = errorFromInfo(structuredClone(errorToInfo(new SqliteError("boom", "SQLITE_FULL", 13))));
  assert.ok(back instanceof SqliteError);
  assert.deepEqual([back.message, back.code, back.rawCode, back.name], ["boom", "SQLITE_FULL", 13, "SqliteError"]);
  assert.ok(errorFromInfo(errorToInfo(new RangeError("r"))) instanceof RangeError);
  assert.ok(errorFromInfo(errorToInfo(new Error("e"))) instanceof TypeError);
});

// A stand-in engine recording calls; "prepare" hands out statement ids.
function stubEngine(log) {
  const tx = new Map();
  return {
    open: async (path) => (log.push(["open", path]), 7),
    close: (cid) => log.push(["close", cid]),
    exec: (cid, sql) => {
      log.push(["exec", cid, sql]);
      if (sql === "BEGIN") tx.set(cid, true);
      if (sql === "bad") throw new SqliteError("no such table: x", "SQLITE_ERROR", 1);
    },
    prepare: (cid, sql) => (log.push(["prepare", cid, sql]), [100 + log.length, [["a", null]]]),
    finalize: (sid) => log.push(["finalize", sid]),
    run: (sid, params) => (log.push(["run", sid, params]), [1, 5n]),
    rows: (sid, params, limit, safe) => [[[1]], true],
    more: () => [[], true],
    reset: () => {},
    inTransaction: (cid) => tx.get(cid) ?? false,
  };
}

test("a RemoteEngine's calls run in order in the worker and report transaction state", async (t) => {
  const { port1, port2 } = new MessageChannel();
  t.after(() => (port1.close(), port2.close()));
  const log = [];
  let inits = 0;
  serve(port1, async (options) => (inits++, assert.deepEqual(options, { pyodideURL: "x" }), stubEngine(log)));
  const remote = new RemoteEngine(port2, { pyodideURL: "x" });
  const [cid, prepared] = await Promise.all([remote.open("db"), remote.prepare(7, "select 1")]);
  assert.equal(cid, 7);
  assert.deepEqual(prepared[1], [["a", null]]);
  assert.deepEqual(await remote.run(prepared[0], [1, new Uint8Array([2])]), [1, 5n]);
  assert.equal(remote.inTransaction(7), false);
  await remote.exec(7, "BEGIN");
  assert.equal(remote.inTransaction(7), true);
  await assert.rejects(remote.exec(7, "bad"), (e) => e instanceof SqliteError && e.code === "SQLITE_ERROR");
  assert.equal(inits, 1);
  assert.deepEqual(log.map((e) => e[0]), ["open", "prepare", "run", "exec", "exec"]);
  assert.deepEqual([...log[2][2][1]], [2]);
});

test("a request before init or for an unknown operation fails cleanly", async (t) => {
  const { port1, port2 } = new MessageChannel();
  t.after(() => (port1.close(), port2.close()));
  serve(port1, async () => stubEngine([]));
  const reply = new Promise((resolve) => port2.once("message", resolve));
  port2.postMessage({ id: 1, op: "drop_everything", args: [] });
  const msg = await reply;
  assert.equal(msg.ok, false);
  assert.equal(msg.error.kind, "type");
  assert.match(msg.error.message, /unknown or premature request/);
});

test("a worker error fails every pending request instead of leaving it hanging", async () => {
  const port = new EventTarget();
  port.postMessage = () => {};
  const remote = new RemoteEngine(port);
  const pending = remote.exec(1, "select 1");
  const error = new Event("error");
  error.message = "boom";
  port.dispatchEvent(error);
  await assert.rejects(pending, { name: "TypeError", message: "limbodb worker: boom" });
});
