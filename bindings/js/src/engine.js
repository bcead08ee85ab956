// LocalEngine: limbodb running in this thread, in a Pyodide instance.
//
// It forwards each call to the Python Bridge (limbodb.io.opfs.bridge), which
// addresses connections and statements by integer ids and returns plain
// arrays, and turns a Python failure into the JS error the Bridge recorded
// (SqliteError with SQLite's code, RangeError or TypeError). Calls are
// synchronous except open() when files must first be acquired asynchronously
// (OPFS: see opfs.js). The same method set is served to a page by protocol.js.

import { errorFromInfo } from "./sqlite-error.js";

export class LocalEngine {
  // bridge: the Python Bridge; files: an OpfsFiles (or null); resolve: maps a user path to the opened path.
  constructor(bridge, { files = null, resolve = (p) => p } = {}) {
    this._bridge = bridge;
    this._files = files;
    this._resolve = resolve;
    this._paths = new Map();
  }

  _py(name, args) {
    try {
      return this._bridge[name](...args);
    } catch (err) {
      throw this._translate(err);
    }
  }

  _translate(err) {
    if (err?.constructor?.name !== "PythonError") return err;
    const info = this._bridge.take_error();
    if (!info) return err;
    const [kind, message, code, rawCode] = info;
    return errorFromInfo({ kind, message, code, rawCode });
  }

  // encryption: {cipher, hexkey} to open or create an encrypted database.
  open(path, { readonly = false, fileMustExist = false, encryption = null } = {}) {
    const memory = path === ":memory:" || path === "";
    const target = memory ? path : this._resolve(path);
    const args = [target, readonly, fileMustExist, encryption?.cipher ?? null, encryption?.hexkey ?? null];
    if (memory || !this._files) return this._py("open", args);
    return this._files.acquire(target).then(() => {
      try {
        const cid = this._py("open", args);
        this._paths.set(cid, target);
        return cid;
      } catch (err) {
        this._files.release(target);
        throw err;
      }
    });
  }

  close(cid) {
    try {
      this._py("close", [cid]);
    } finally {
      const path = this._paths.get(cid);
      if (path !== undefined) {
        this._paths.delete(cid);
        this._files.release(path);
      }
    }
  }

  inTransaction(cid) {
    return this._py("in_transaction", [cid]);
  }

  exec(cid, sql) {
    return this._py("exec", [cid, sql]);
  }

  createFunction(cid, name, narg, fn, deterministic) {
    return this._py("create_function", [cid, name, narg, fn, deterministic]);
  }

  createAggregate(cid, name, narg, start, step, result) {
    return this._py("create_aggregate", [cid, name, narg, start, step, result]);
  }

  prepare(cid, sql) {
    return this._py("prepare", [cid, sql]);
  }

  // The database file's bytes (a Uint8Array) after a full checkpoint.
  serialize(cid) {
    return this._py("serialize", [cid]);
  }

  // The WAL frame API: frames are Uint8Arrays (24-byte header + page).
  walFrameCount(cid) {
    return this._py("wal_frame_count", [cid]);
  }

  walGetFrame(cid, n) {
    return this._py("wal_get_frame", [cid, n]);
  }

  walInsertBegin(cid) {
    return this._py("wal_insert_begin", [cid]);
  }

  walInsertFrame(cid, n, frame) {
    return this._py("wal_insert_frame", [cid, n, frame]);
  }

  walInsertEnd(cid) {
    return this._py("wal_insert_end", [cid]);
  }

  walAutoCheckpointDisable(cid) {
    return this._py("wal_auto_checkpoint_disable", [cid]);
  }

  finalize(sid) {
    return this._py("finalize", [sid]);
  }

  run(sid, params) {
    return this._py("run", [sid, params]);
  }

  rows(sid, params, limit, safe) {
    return this._py("rows", [sid, params, limit, safe]);
  }

  more(sid, limit, safe) {
    return this._py("more", [sid, limit, safe]);
  }

  reset(sid) {
    return this._py("reset", [sid]);
  }
}

// Start Pyodide, install the limbodb wheel (bytes) into it, import the engine,
// call onImported(pyodide) (a moment fit for a memory snapshot: no JS object
// has been handed to Python yet), and build a Bridge over the file backend
// that makeFileIO(pyodide) returns (a Python IO object); resolves to the Bridge.
export async function startBridge({ loadPyodide, wheel, makeFileIO, pyodideOptions = {}, onImported }) {
  const pyodide = await loadPyodide(pyodideOptions);
  // Pyodide takes a plain Uint8Array only (not a Node Buffer). The files are
  // unpacked even into a snapshot-restored instance: a snapshot holds memory, not files.
  pyodide.unpackArchive(new Uint8Array(wheel.buffer, wheel.byteOffset, wheel.byteLength), "wheel");
  const { Bridge } = pyodide.pyimport("limbodb.io.opfs.bridge");
  const toJs = pyodide.pyimport("pyodide.ffi").to_js;
  await onImported?.(pyodide);
  return Bridge(makeFileIO(pyodide), toJs, BigInt);
}
