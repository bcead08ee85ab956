// limbodb/compat: better-sqlite3's synchronous API in Node.js.
//
// `import Database from "limbodb/compat"` waits (top-level await) for the
// process's Pyodide engine (node-engine.js); after that every call runs to
// its end before returning, because NodeIO finishes all I/O synchronously:
// `new Database(path)`, `db.prepare(sql).run/get/all/iterate(...)`, `db.exec`,
// `db.transaction(fn)` (fn synchronous, as in better-sqlite3), `db.pragma`,
// `db.function`, `db.aggregate`, `db.serialize()`, `db.close()`. Same rows, bindings and errors
// as the Promise-based API.

import { Database as AsyncDatabase, frameBytes, frameNumber, openOptions } from "./database.js";
import { nodeEngine } from "./node-engine.js";
import { Statement as AsyncStatement, fromSqlValue } from "./statement.js";

export { SqliteError } from "./sqlite-error.js";

const engine = await nodeEngine();

const MODES = { default: "", deferred: "DEFERRED", immediate: "IMMEDIATE", exclusive: "EXCLUSIVE" };

export class Statement extends AsyncStatement {
  run(...args) {
    this._checkUsable();
    return this._runInfo(engine.run(this._id, this._params(args)));
  }

  get(...args) {
    this._checkUsable();
    const [rows] = engine.rows(this._id, this._params(args), 1, this._safe);
    return rows.length ? this._shape(rows)[0] : undefined;
  }

  all(...args) {
    this._checkUsable();
    return this._shape(engine.rows(this._id, this._params(args), 0, this._safe)[0]);
  }

  *iterate(...args) {
    this._checkUsable();
    const id = this._id;
    let [rows, done] = engine.rows(id, this._params(args), 64, this._safe);
    try {
      for (;;) {
        yield* this._shape(rows);
        if (done) return;
        [rows, done] = engine.more(id, 64, this._safe);
      }
    } finally {
      if (!done && this._db.open) engine.reset(id);
    }
  }
}

export default class Database extends AsyncDatabase {
  constructor(path = ":memory:", options = {}) {
    super(engine, path, options);
    this._cid = engine.open(this._file, openOptions(this._options));
    this._open = true;
  }

  prepare(sql) {
    this._checkOpen();
    if (typeof sql !== "string") throw new TypeError("Expected first argument to be a string");
    if (!sql.trim()) throw new RangeError("The supplied SQL string contains no statements");
    return new Statement(this, sql, engine.prepare(this._cid, sql));
  }

  exec(sql) {
    this._checkOpen();
    if (typeof sql !== "string") throw new TypeError("Expected first argument to be a string");
    engine.exec(this._cid, sql);
    return this;
  }

  run(sql, ...args) {
    return this._once(sql, (s) => s.run(...args));
  }

  get(sql, ...args) {
    return this._once(sql, (s) => s.get(...args));
  }

  all(sql, ...args) {
    return this._once(sql, (s) => s.all(...args));
  }

  *iterate(sql, ...args) {
    const stmt = this.prepare(sql);
    try {
      yield* stmt.iterate(...args);
    } finally {
      stmt.close();
    }
  }

  pragma(source, options = {}) {
    if (typeof source !== "string") throw new TypeError("Expected first argument to be a string");
    return this._once(`PRAGMA ${source}`, (s) => (options.simple ? s.pluck().get() : s.all()));
  }

  transaction(fn) {
    if (typeof fn !== "function") throw new TypeError("Expected first argument to be a function");
    const db = this;
    const wrap = (mode) => function (...args) {
      db.exec(`BEGIN ${mode}`);
      try {
        const result = fn.apply(this, args);
        db.exec("COMMIT");
        return result;
      } catch (err) {
        if (db.open && db.inTransaction) db.exec("ROLLBACK");
        throw err;
      }
    };
    const variants = { database: { value: this, enumerable: true } };
    for (const [name, mode] of Object.entries(MODES)) variants[name] = { value: wrap(mode) };
    for (const v of Object.values(variants)) if (typeof v.value === "function") Object.defineProperties(v.value, variants);
    return variants.default.value;
  }

  walFrameCount() {
    this._checkOpen();
    return engine.walFrameCount(this._cid);
  }

  serialize() {
    this._checkOpen();
    return fromSqlValue(engine.serialize(this._cid));
  }

  walGetFrame(n) {
    this._checkOpen();
    return fromSqlValue(engine.walGetFrame(this._cid, frameNumber(n)));
  }

  walInsertBegin() {
    this._checkOpen();
    engine.walInsertBegin(this._cid);
  }

  walInsertFrame(n, frame) {
    this._checkOpen();
    engine.walInsertFrame(this._cid, frameNumber(n), frameBytes(frame));
  }

  walInsertEnd() {
    this._checkOpen();
    engine.walInsertEnd(this._cid);
  }

  walAutoCheckpointDisable() {
    this._checkOpen();
    engine.walAutoCheckpointDisable(this._cid);
  }

  close() {
    if (!this._open) return this;
    this._open = false;
    engine.close(this._cid);
    return this;
  }

  _once(sql, use) {
    const stmt = this.prepare(sql);
    try {
      return use(stmt);
    } finally {
      stmt.close();
    }
  }
}

export { Database };
