// SqliteError: what every database failure throws, as in better-sqlite3 and
// @tursodatabase/database. `code` is SQLite's symbolic extended result code
// ('SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_BUSY', ...); `rawCode` is its number.

export class SqliteError extends Error {
  constructor(message, code, rawCode) {
    super(message);
    this.name = "SqliteError";
    this.code = code;
    this.rawCode = rawCode;
    if (Error.captureStackTrace) Error.captureStackTrace(this, SqliteError);
  }
}

// Rebuild the error an engine reported as plain data ({kind, message, code, rawCode}):
// "sqlite" -> SqliteError, "range" -> RangeError, anything else -> TypeError.
export function errorFromInfo(info) {
  if (info.kind === "sqlite") return new SqliteError(info.message, info.code, info.rawCode);
  if (info.kind === "range") return new RangeError(info.message);
  return new TypeError(info.message);
}

// The plain-data form of an error, for postMessage.
export function errorToInfo(err) {
  if (err instanceof SqliteError) {
    return { kind: "sqlite", message: err.message, code: err.code, rawCode: err.rawCode };
  }
  return { kind: err instanceof RangeError ? "range" : "type", message: String(err?.message ?? err) };
}
