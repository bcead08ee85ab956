// An in-memory Origin Private File System with the methods limbodb's worker
// uses: directory and file handles, and FileSystemSyncAccessHandle (read and
// write with {at}, flush, getSize, truncate, close). A file has at most one
// open sync handle, as in browsers; a second createSyncAccessHandle() fails
// with NoModificationAllowedError. Counts flushes so tests can check when
// data is made durable.

class FakeFile {
  constructor() {
    this.bytes = new Uint8Array(0);
    this.size = 0;
    this.locked = false;
    this.flushes = 0;
  }

  ensure(n) {
    if (n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(n, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.size));
      this.bytes = grown;
    }
  }

  contents() {
    return this.bytes.slice(0, this.size);
  }
}

class FakeSyncAccessHandle {
  constructor(file) {
    this._file = file;
    this._closed = false;
  }

  _check() {
    if (this._closed) throw new DOMException("handle is closed", "InvalidStateError");
  }

  read(buffer, { at = 0 } = {}) {
    this._check();
    const f = this._file;
    const n = Math.max(0, Math.min(buffer.byteLength, f.size - at));
    new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).set(f.bytes.subarray(at, at + n));
    return n;
  }

  write(buffer, { at = 0 } = {}) {
    this._check();
    const f = this._file;
    const src = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    f.ensure(at + src.length);
    if (at > f.size) f.bytes.fill(0, f.size, at);
    f.bytes.set(src, at);
    f.size = Math.max(f.size, at + src.length);
    return src.length;
  }

  flush() {
    this._check();
    this._file.flushes++;
  }

  getSize() {
    this._check();
    return this._file.size;
  }

  truncate(n) {
    this._check();
    const f = this._file;
    f.ensure(n);
    if (n > f.size) f.bytes.fill(0, f.size, n);
    f.size = n;
  }

  close() {
    if (!this._closed) {
      this._closed = true;
      this._file.locked = false;
    }
  }
}

class FakeFileHandle {
  constructor(file) {
    this.kind = "file";
    this._file = file;
  }

  async createSyncAccessHandle() {
    if (this._file.locked) {
      throw new DOMException("Access Handles cannot be created if there is another open Access Handle", "NoModificationAllowedError");
    }
    this._file.locked = true;
    return new FakeSyncAccessHandle(this._file);
  }
}

export class FakeDirectory {
  constructor() {
    this.kind = "directory";
    this.entries = new Map();
  }

  async getDirectoryHandle(name, { create = false } = {}) {
    let d = this.entries.get(name);
    if (!d && create) this.entries.set(name, (d = new FakeDirectory()));
    if (!(d instanceof FakeDirectory)) throw new DOMException(`no directory ${name}`, "NotFoundError");
    return d;
  }

  async getFileHandle(name, { create = false } = {}) {
    let f = this.entries.get(name);
    if (!f && create) this.entries.set(name, (f = new FakeFile()));
    if (!(f instanceof FakeFile)) throw new DOMException(`no file ${name}`, "NotFoundError");
    return new FakeFileHandle(f);
  }

  // Test helper: the FakeFile at a slash-separated path.
  file(path) {
    const parts = path.split("/");
    let d = this;
    for (const p of parts.slice(0, -1)) d = d.entries.get(p);
    return d.entries.get(parts.at(-1));
  }
}
