// OPFS files for limbodb in a dedicated Web Worker.
//
// Opening an Origin Private File System file for synchronous access is
// asynchronous, so acquire() opens a database's file, "-wal" and "-journal"
// with createSyncAccessHandle() before Python touches them, and puts the
// handles in the Map that Python's OpfsIO reads (limbodb.io.opfs.backend).
// A sync access handle is exclusive: when another tab or worker holds the
// file, acquire() fails with SQLITE_BUSY "database is locked", before any
// byte is read, so two tabs can never both write. Connections of one worker
// to the same path share the handles (counted); the last release() closes them.

import { SqliteError } from "./sqlite-error.js";
import { LocalEngine, startBridge } from "./engine.js";

const SUFFIXES = ["", "-wal", "-journal"];

export class OpfsFiles {
  constructor(root) {
    this.root = root; // a FileSystemDirectoryHandle (navigator.storage.getDirectory())
    this.handles = new Map();
    this._users = new Map();
  }

  async acquire(path) {
    const users = this._users.get(path);
    if (users !== undefined) {
      this._users.set(path, users + 1);
      return;
    }
    const parts = path.split("/").filter(Boolean);
    const name = parts.pop();
    if (!name) throw new SqliteError("unable to open database file", "SQLITE_CANTOPEN", 14);
    let dir = this.root;
    for (const part of parts) dir = await dir.getDirectoryHandle(part, { create: true });
    const opened = [];
    try {
      for (const suffix of SUFFIXES) {
        const file = await dir.getFileHandle(name + suffix, { create: true });
        opened.push([path + suffix, await file.createSyncAccessHandle()]);
      }
    } catch (err) {
      for (const [, h] of opened) h.close();
      if (err?.name === "NoModificationAllowedError" || err?.name === "InvalidStateError") {
        throw new SqliteError("database is locked", "SQLITE_BUSY", 5);
      }
      throw err;
    }
    for (const [p, h] of opened) this.handles.set(p, h);
    this._users.set(path, 1);
  }

  release(path) {
    const users = this._users.get(path);
    if (users === undefined) return;
    if (users > 1) {
      this._users.set(path, users - 1);
      return;
    }
    this._users.delete(path);
    for (const suffix of SUFFIXES) {
      const h = this.handles.get(path + suffix);
      this.handles.delete(path + suffix);
      h?.close();
    }
  }
}

// A LocalEngine whose database files are OPFS files under `root`.
export async function createOpfsEngine({ loadPyodide, wheel, root, pyodideOptions }) {
  const files = new OpfsFiles(root);
  const bridge = await startBridge({
    loadPyodide,
    wheel,
    pyodideOptions,
    makeFileIO: (pyodide) => pyodide.pyimport("limbodb.io.opfs.backend").OpfsIO(files.handles),
  });
  return new LocalEngine(bridge, { files });
}
