// Database: one connection, with the Promise-based API of @tursodatabase/database.
//
// It drives an engine (engine.js in-process, or protocol.js's RemoteEngine
// talking to a worker) whose calls return values or Promises; every call here
// is awaited, so both work the same. An in-process engine prepares
// synchronously, so prepare() throws SQL errors at once, as better-sqlite3
// does; through a worker they surface at the statement's first await.
// transaction() runs on this connection: statements other code issues while
// the callback awaits join the transaction, as in @tursodatabase/database on
// platforms without async-context tracking.

import { SqliteError } from "./sqlite-error.js";
import { fromSqlValue, Statement, toSqlValue } from "./statement.js";

const MODES = { "": "", deferred: "DEFERRED", immediate: "IMMEDIATE", exclusive: "EXCLUSIVE" };

export class Database {
  constructor(engine, path, options = {}) {
    if (typeof path !== "string") throw new TypeError("Expected first argument to be a string");
    if (options === null || typeof options !== "object") {
      throw new TypeError("Expected second argument to be an options object");
    }
    this._engine = engine;
    this._path = path;
    // A "file:" URI names the file and may carry options (see parseUri); explicit options win.
    const uri = parseUri(path);
    this._file = uri.file;
    this._options = { ...uri.options, ...definedOnly(options) };
    this._cid = undefined;
    this._open = false;
    this._safeIntegers = Boolean(options.defaultSafeIntegers);
  }

  // Open the connection; connect() calls it.
  async _connect() {
    this._cid = await this._engine.open(this._file, openOptions(this._options));
    this._open = true;
    return this;
  }

  get name() {
    return this._path;
  }

  get readonly() {
    return Boolean(this._options.readonly);
  }

  get open() {
    return this._open;
  }

  get memory() {
    return this._file === ":memory:" || this._file === "";
  }

  get inTransaction() {
    return this._open && Boolean(this._engine.inTransaction(this._cid));
  }

  prepare(sql) {
    this._checkOpen();
    if (typeof sql !== "string") throw new TypeError("Expected first argument to be a string");
    if (!sql.trim()) throw new RangeError("The supplied SQL string contains no statements");
    return new Statement(this, sql, this._engine.prepare(this._cid, sql));
  }

  async exec(sql) {
    this._checkOpen();
    if (typeof sql !== "string") throw new TypeError("Expected first argument to be a string");
    await this._engine.exec(this._cid, sql);
    return this;
  }

  async run(sql, ...args) {
    return this._once(sql, (s) => s.run(...args));
  }

  async get(sql, ...args) {
    return this._once(sql, (s) => s.get(...args));
  }

  async all(sql, ...args) {
    return this._once(sql, (s) => s.all(...args));
  }

  async *iterate(sql, ...args) {
    const stmt = this.prepare(sql);
    try {
      yield* stmt.iterate(...args);
    } finally {
      await stmt.close();
    }
  }

  async pragma(source, options = {}) {
    if (typeof source !== "string") throw new TypeError("Expected first argument to be a string");
    if (options === null || typeof options !== "object") {
      throw new TypeError("Expected second argument to be an options object");
    }
    const stmt = this.prepare(`PRAGMA ${source}`);
    try {
      return options.simple ? await stmt.pluck().get() : await stmt.all();
    } finally {
      await stmt.close();
    }
  }

  // Statements in order, each a SQL string or {sql, args}; one result set each.
  // With a mode ("deferred", "immediate", "exclusive", "write", "read") the batch is one transaction.
  async batch(statements, mode) {
    if (!Array.isArray(statements)) throw new TypeError("Expected first argument to be an array of statements");
    this._checkOpen();
    const wrap = mode != null && !this.inTransaction;
    if (wrap) await this.exec(`BEGIN ${batchMode(mode)}`);
    const results = [];
    try {
      for (const item of statements) {
        const sql = typeof item === "string" ? item : item.sql;
        const args = typeof item === "string" || item.args === undefined ? [] : [item.args];
        const stmt = this.prepare(sql);
        try {
          await stmt._begin();
          const cols = stmt.columns();
          let rows = [];
          let rowsAffected = 0;
          if (cols.length) rows = await stmt.all(...args);
          else rowsAffected = (await stmt.run(...args)).changes;
          results.push({ columns: cols.map((c) => c.name), columnTypes: cols.map((c) => c.type ?? ""), rows, rowsAffected });
        } finally {
          await stmt.close();
        }
      }
      if (wrap) await this.exec("COMMIT");
    } catch (err) {
      if (wrap && this.inTransaction) await this.exec("ROLLBACK");
      throw err;
    }
    return results;
  }

  transaction(fn) {
    if (typeof fn !== "function") throw new TypeError("Expected first argument to be a function");
    const db = this;
    const wrap = (mode) => async function (...args) {
      await db.exec(`BEGIN ${mode}`);
      try {
        const result = await fn.apply(this, args);
        await db.exec("COMMIT");
        return result;
      } catch (err) {
        if (db.open && db.inTransaction) await db.exec("ROLLBACK");
        throw err;
      }
    };
    const variants = {};
    for (const [name, mode] of Object.entries(MODES)) variants[name || "default"] = { value: wrap(mode) };
    variants.database = { value: this, enumerable: true };
    for (const v of Object.values(variants)) if (typeof v.value === "function") Object.defineProperties(v.value, variants);
    return variants.default.value;
  }

  // A JS function as an SQL function: db.function(name, [{deterministic, varargs}], fn).
  function(name, options, fn) {
    if (typeof options === "function") [options, fn] = [{}, options];
    this._checkUdf(name, options, fn);
    const narg = options.varargs ? -1 : fn.length;
    const call = (...args) => toSqlValue(fn(...args.map(fromSqlValue)));
    this._engine.createFunction(this._cid, name, narg, call, Boolean(options.deterministic));
    return this;
  }

  // A JS aggregate: db.aggregate(name, {start, step, result, deterministic, varargs}).
  // step(acc, ...values) returns the next accumulator (undefined keeps it); result(acc) the group's value.
  aggregate(name, options) {
    if (options === null || typeof options !== "object") throw new TypeError("Expected second argument to be an options object");
    const { start, step, result } = options;
    this._checkUdf(name, options, step);
    if (result !== undefined && typeof result !== "function") throw new TypeError("Expected the \"result\" option to be a function");
    const narg = options.varargs ? -1 : Math.max(0, step.length - 1);
    const begin = () => (typeof start === "function" ? start() : start);
    const next = (acc, ...args) => {
      const r = step(acc, ...args.map(fromSqlValue));
      return r === undefined ? acc : r;
    };
    const end = (acc) => toSqlValue(result ? result(acc) : acc);
    this._engine.createAggregate(this._cid, name, narg, begin, next, end);
    return this;
  }

  // The database file's bytes (Buffer in Node, Uint8Array in a browser) after a full
  // checkpoint: an ordinary SQLite file (encrypted as on disk when the database is),
  // as better-sqlite3's serialize() gives. SQLITE_BUSY while another connection's
  // read transaction keeps the checkpoint from finishing.
  async serialize() {
    this._checkOpen();
    return fromSqlValue(await this._engine.serialize(this._cid));
  }

  // The WAL frame API, for replication: ship frames from a primary's WAL into a replica's.
  // Frames are numbered from 1; each is its 24-byte header followed by its page.
  async walFrameCount() {
    this._checkOpen();
    return this._engine.walFrameCount(this._cid);
  }

  async walGetFrame(n) {
    this._checkOpen();
    return fromSqlValue(await this._engine.walGetFrame(this._cid, frameNumber(n)));
  }

  // Take the write lock for a run of walInsertFrame calls.
  async walInsertBegin() {
    this._checkOpen();
    await this._engine.walInsertBegin(this._cid);
  }

  // A frame already at position n must be identical, else SQLITE_ERROR (nothing is applied);
  // the next position is kept until its transaction's commit frame arrives; beyond is an error.
  async walInsertFrame(n, frame) {
    this._checkOpen();
    await this._engine.walInsertFrame(this._cid, frameNumber(n), frameBytes(frame));
  }

  // End the insert session, dropping a transaction whose commit frame did not come.
  async walInsertEnd() {
    this._checkOpen();
    await this._engine.walInsertEnd(this._cid);
  }

  // Keep the WAL from being checkpointed (and restarted), so frame numbers stay the primary's.
  async walAutoCheckpointDisable() {
    this._checkOpen();
    await this._engine.walAutoCheckpointDisable(this._cid);
  }

  defaultSafeIntegers(toggle = true) {
    this._safeIntegers = Boolean(toggle);
    return this;
  }

  async close() {
    if (!this._open) return;
    this._open = false;
    await this._engine.close(this._cid);
  }

  _checkUdf(name, options, fn) {
    this._checkOpen();
    if (typeof name !== "string") throw new TypeError("Expected first argument to be a string");
    if (options === null || typeof options !== "object") throw new TypeError("Expected an options object");
    if (typeof fn !== "function") throw new TypeError("Expected a function");
    if (!this._engine.createFunction) {
      throw new TypeError("JavaScript functions cannot be registered through a worker: use the database inside the worker");
    }
  }

  _checkOpen() {
    if (!this._open) throw new TypeError("The database connection is not open");
  }

  async _once(sql, use) {
    const stmt = this.prepare(sql);
    try {
      return await use(stmt);
    } finally {
      await stmt.close();
    }
  }
}

// connect("file:NAME?cipher=..&hexkey=..&mode=..") as in Python and SQLite: the
// file is NAME percent-decoded ("file://host/path" keeps the path); cipher and
// hexkey open an encrypted database (the engine reports a missing half or an
// unknown cipher); mode ro is readonly, rw fileMustExist, memory ":memory:".
// Other parameters are ignored, as SQLite ignores those it does not know.
// Returns {file, options}; any other path is the file itself.
export function parseUri(path) {
  if (!path.startsWith("file:")) return { file: path, options: {} };
  let [rest, query = ""] = splitOnce(path.slice(5), "?");
  [rest] = splitOnce(rest, "#");
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    rest = slash < 0 ? "" : rest.slice(slash);
  }
  const params = new URLSearchParams(query);
  const options = {};
  const cipher = params.get("cipher");
  const hexkey = params.get("hexkey");
  if (cipher !== null || hexkey !== null) options.uriEncryption = { cipher, hexkey };
  const mode = params.get("mode") ?? "rwc";
  if (!["ro", "rw", "rwc", "memory"].includes(mode)) {
    throw new SqliteError(`no such access mode: ${mode}`, "SQLITE_ERROR", 1);
  }
  if (mode === "ro") options.readonly = true;
  if (mode === "ro" || mode === "rw") options.fileMustExist = true;
  const file = decodeURIComponent(rest);
  return { file: mode === "memory" ? ":memory:" : file, options };
}

function splitOnce(text, sep) {
  const i = text.indexOf(sep);
  return i < 0 ? [text] : [text.slice(0, i), text.slice(i + 1)];
}

function definedOnly(options) {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

// The engine's open options from connect()'s: encryption is {cipher, hexkey}
// (else the URI's cipher/hexkey, passed on as given for the engine to check).
export function openOptions({ readonly = false, fileMustExist = false, encryption = null, uriEncryption = null }) {
  if (encryption === null || encryption === undefined) {
    return uriEncryption ? { readonly, fileMustExist, encryption: uriEncryption } : { readonly, fileMustExist };
  }
  const { cipher, hexkey } = encryption;
  if (typeof cipher !== "string" || typeof hexkey !== "string") {
    throw new TypeError("Expected the \"encryption\" option to be { cipher: string, hexkey: string }");
  }
  return { readonly, fileMustExist, encryption: { cipher, hexkey } };
}

export function frameNumber(n) {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError("Expected a frame number (an integer from 1)");
  return n;
}

export function frameBytes(frame) {
  if (!ArrayBuffer.isView(frame)) throw new TypeError("Expected a frame as a Uint8Array");
  return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
}

function batchMode(mode) {
  const m = String(mode).toLowerCase();
  if (m === "write") return "IMMEDIATE";
  if (m === "read") return "DEFERRED";
  if (m in MODES) return MODES[m];
  throw new SqliteError(`unknown batch mode: ${mode}`, "SQLITE_ERROR", 1);
}
