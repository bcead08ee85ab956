// Statement: one prepared statement of a Database, with the Promise-based
// API of @tursodatabase/database (better-sqlite3's members, awaited).
//
// The engine holds the compiled statement; this object holds its id, its
// columns and the row shape asked for (objects, raw arrays, or plucked first
// values; numbers or BigInt). Parameters follow better-sqlite3: several
// arguments or one array bind by position, one plain object binds by name
// (":a", "@a" and "$a" all read key "a"); null/undefined are NULL, booleans
// 1/0, any typed array or DataView its exact bytes as a BLOB.

const toBlob = globalThis.Buffer
  ? (u8) => globalThis.Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)
  : (u8) => u8;

// Rows come back in batches of this size while iterating.
const ITERATE_BATCH = 64;

// A JS value as the engine takes it (parameters, and user function results).
export function toSqlValue(v) {
  if (v === null || v === undefined) return undefined;
  switch (typeof v) {
    case "number":
    case "string":
    case "bigint":
      return v;
    case "boolean":
      return v ? 1 : 0;
    default:
      if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      if (v instanceof ArrayBuffer) return new Uint8Array(v);
      throw new TypeError("SQLite3 can only bind numbers, strings, bigints, buffers, and null");
  }
}

function isPlainObject(v) {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// The engine's form of bind arguments: undefined (none), an array, or an object of named values.
export function normalizeParams(args) {
  if (args.length === 0) return undefined;
  if (args.length === 1 && isPlainObject(args[0])) {
    const out = {};
    for (const [k, v] of Object.entries(args[0])) out[k] = toSqlValue(v);
    return out;
  }
  const flat = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  return flat.map(toSqlValue);
}

// An engine value as JS sees it: NULL is null, a blob a Buffer (Node) or Uint8Array.
export function fromSqlValue(v) {
  return v instanceof Uint8Array ? toBlob(v) : v === undefined ? null : v;
}

export class Statement {
  constructor(db, sql, prepared) {
    this._db = db;
    this.source = sql;
    this._raw = false;
    this._pluck = false;
    this._safe = db._safeIntegers;
    this._bound = undefined;
    this._closed = false;
    this._id = undefined;
    this._columns = undefined;
    if (prepared instanceof Promise) {
      this._ready = prepared.then((r) => this._setPrepared(r));
      this._ready.catch(() => {}); // reported by the first call that awaits it
    } else {
      this._setPrepared(prepared);
      this._ready = null;
    }
  }

  _setPrepared([id, cols]) {
    this._id = id;
    this._columns = cols.map(([name, type]) => ({ name, column: null, table: null, database: null, type: type ?? null }));
  }

  get database() {
    return this._db;
  }

  get reader() {
    return this.columns().length > 0;
  }

  raw(toggle = true) {
    if (toggle && this._columns && this._columns.length === 0) {
      throw new TypeError("The raw() method is only for statements that return data");
    }
    this._raw = Boolean(toggle);
    if (this._raw) this._pluck = false;
    return this;
  }

  pluck(toggle = true) {
    if (toggle && this._columns && this._columns.length === 0) {
      throw new TypeError("The pluck() method is only for statements that return data");
    }
    this._pluck = Boolean(toggle);
    if (this._pluck) this._raw = false;
    return this;
  }

  safeIntegers(toggle = true) {
    this._safe = Boolean(toggle);
    return this;
  }

  columns() {
    if (this._columns === undefined) {
      throw new TypeError("The statement is still being prepared: await one of its methods first");
    }
    return this._columns.map((c) => ({ ...c }));
  }

  bind(...args) {
    if (this._bound !== undefined) {
      throw new TypeError("The bind() method can only be invoked once per statement object");
    }
    this._bound = normalizeParams(args) ?? [];
    return this;
  }

  async run(...args) {
    const id = await this._begin();
    const engine = this._db._engine;
    return this._runInfo(await engine.run(id, this._params(args)));
  }

  async get(...args) {
    const id = await this._begin();
    const engine = this._db._engine;
    const [rows] = await engine.rows(id, this._params(args), 1, this._safe);
    return rows.length ? this._shape(rows)[0] : undefined;
  }

  async all(...args) {
    const id = await this._begin();
    const engine = this._db._engine;
    const [rows] = await engine.rows(id, this._params(args), 0, this._safe);
    return this._shape(rows);
  }

  async *iterate(...args) {
    const id = await this._begin();
    const db = this._db;
    const engine = db._engine;
    let [rows, done] = await engine.rows(id, this._params(args), ITERATE_BATCH, this._safe);
    try {
      for (;;) {
        for (const row of this._shape(rows)) yield row;
        if (done) return;
        [rows, done] = await engine.more(id, ITERATE_BATCH, this._safe);
      }
    } finally {
      if (!done && db.open) await engine.reset(id);
    }
  }

  close() {
    if (this._closed) return;
    this._closed = true;
    if (this._id !== undefined && this._db.open) return this._db._engine.finalize(this._id);
  }

  async _begin() {
    this._checkUsable();
    if (this._ready) await this._ready;
    return this._id;
  }

  _checkUsable() {
    if (this._closed) throw new TypeError("The statement has been closed");
    this._db._checkOpen();
  }

  _runInfo([changes, lastInsertRowid]) {
    return { changes, lastInsertRowid: this._safe ? BigInt(lastInsertRowid) : Number(lastInsertRowid) };
  }

  _params(args) {
    if (this._bound !== undefined) {
      if (args.length) throw new TypeError("This statement already has bound parameters");
      return this._bound;
    }
    return normalizeParams(args);
  }

  _shape(rows) {
    if (this._pluck) return rows.map((r) => fromSqlValue(r[0]));
    if (this._raw) return rows.map((r) => r.map(fromSqlValue));
    const names = this._columns.map((c) => c.name);
    const n = names.length;
    return rows.map((r) => {
      const o = {};
      for (let i = 0; i < n; i++) o[names[i]] = fromSqlValue(r[i]);
      return o;
    });
  }
}
