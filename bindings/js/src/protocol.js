// The page <-> worker protocol: a RemoteEngine in the page forwards engine
// calls over postMessage to serve() in the worker, which runs them in order
// on a LocalEngine.
//
// Messages, page to worker: {id, op, args}; op "init" (args: [options]) comes
// first and builds the engine, then any of OPS. Worker to page: {id, ok: true,
// result, tx} or {id, ok: false, error: {kind, message, code, rawCode}}, where
// tx is [connection id, inTransaction] after each call on a connection, so
// Database.inTransaction can stay a synchronous getter in the page. Values
// cross by structured clone: numbers, BigInt, strings, Uint8Array, undefined.

import { errorFromInfo, errorToInfo } from "./sqlite-error.js";

export const OPS = [
  "open", "close", "exec", "prepare", "finalize", "run", "rows", "more", "reset", "serialize",
  "walFrameCount", "walGetFrame", "walInsertBegin", "walInsertFrame", "walInsertEnd", "walAutoCheckpointDisable",
];

// Ops whose first argument is a statement id rather than a connection id.
const STATEMENT_OPS = new Set(["finalize", "run", "rows", "more", "reset"]);

function listen(port, fn) {
  port.addEventListener("message", (event) => fn(event.data));
  port.start?.();
}

export class RemoteEngine {
  constructor(port, initOptions = {}) {
    this._port = port;
    this._next = 1;
    this._pending = new Map();
    this._tx = new Map();
    listen(port, (msg) => this._receive(msg));
    // A Worker that fails to load or crashes answers nothing more: fail what waits on it.
    port.addEventListener("error", (event) => this._failAll(event.message ?? "the worker failed"));
    this._ready = this._send("init", [initOptions]);
  }

  inTransaction(cid) {
    return this._tx.get(cid) ?? false;
  }

  _failAll(message) {
    for (const { reject } of this._pending.values()) reject(new TypeError(`limbodb worker: ${message}`));
    this._pending.clear();
  }

  _send(op, args) {
    const id = this._next++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this._port.postMessage({ id, op, args });
    });
  }

  _receive({ id, ok, result, error, tx }) {
    const waiter = this._pending.get(id);
    if (!waiter) return;
    this._pending.delete(id);
    if (tx) this._tx.set(tx[0], tx[1]);
    if (ok) waiter.resolve(result);
    else waiter.reject(errorFromInfo(error));
  }
}

for (const op of OPS) {
  RemoteEngine.prototype[op] = function (...args) {
    return this._ready.then(() => this._send(op, args));
  };
}

// Serve engine calls arriving on `port`; makeEngine(options) builds the engine at "init".
export function serve(port, makeEngine) {
  let engine = null;
  const owner = new Map(); // statement id -> connection id
  let queue = Promise.resolve();

  async function handle({ id, op, args }) {
    let cid = STATEMENT_OPS.has(op) ? owner.get(args[0]) : op === "init" || op === "open" ? undefined : args[0];
    const reply = { id, ok: true };
    try {
      if (op === "init") {
        engine ??= await makeEngine(args[0] ?? {});
      } else if (!engine || !OPS.includes(op)) {
        throw new TypeError(`unknown or premature request: ${op}`);
      } else {
        reply.result = await engine[op](...args);
      }
      if (op === "open") cid = reply.result;
      if (op === "prepare") owner.set(reply.result[0], cid);
      if (op === "finalize") owner.delete(args[0]);
      if (op === "close") {
        for (const [sid, c] of owner) if (c === cid) owner.delete(sid);
        cid = undefined;
      }
    } catch (err) {
      reply.ok = false;
      reply.error = errorToInfo(err);
    }
    if (cid !== undefined && engine) {
      try {
        reply.tx = [cid, Boolean(engine.inTransaction(cid))];
      } catch {
        // the connection is gone: there is no transaction state to report
      }
    }
    port.postMessage(reply);
  }

  listen(port, (msg) => {
    queue = queue.then(() => handle(msg));
  });
}
