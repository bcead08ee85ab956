// Type declarations for limbodb's JavaScript API (the API of @tursodatabase/database).

export interface Options {
  /** Open the database read-only. */
  readonly?: boolean;
  /** Fail with SQLITE_CANTOPEN instead of creating a missing file. */
  fileMustExist?: boolean;
  /** Return integers as BigInt from every statement of this database. */
  defaultSafeIntegers?: boolean;
  /** Open (or create) a database encrypted at rest, in Turso's on-disk format
   * (the path may say it instead: "file:NAME?cipher=...&hexkey=..."; this option wins). */
  encryption?: EncryptionOptions;
  /** Browser only: where Pyodide's pyodide.mjs is served (default: the npm "pyodide" package beside this one). */
  pyodideURL?: string;
  /** Browser only: where the limbodb wheel is served (default: dist/limbodb.whl of this package). */
  wheelURL?: string;
}

export type Cipher =
  | "aes128gcm" | "aes256gcm" | "aegis128l" | "aegis128x2" | "aegis128x4" | "aegis256" | "aegis256x2" | "aegis256x4";

export interface EncryptionOptions {
  cipher: Cipher;
  /** The key in hex: 32 digits for the 128-bit ciphers, 64 for the 256-bit ones. Never stored. */
  hexkey: string;
}

/** A bind value: null/undefined are NULL, booleans 1/0, typed arrays and ArrayBuffers their bytes as a BLOB. */
export type BindValue = number | bigint | string | boolean | null | undefined | ArrayBufferView | ArrayBuffer;
/** One plain object binds named parameters (:a, @a, $a all read key "a"); values or one array bind by position. */
export type BindParameters = BindValue[] | [BindValue[]] | [Record<string, BindValue>];

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface ColumnDefinition {
  name: string;
  column: string | null;
  table: string | null;
  database: string | null;
  /** The declared type as written in CREATE TABLE, or null for an expression. */
  type: string | null;
}

export interface ResultSet {
  columns: string[];
  columnTypes: string[];
  rows: unknown[];
  rowsAffected: number;
}

export type BatchStatement = string | { sql: string; args?: BindValue[] | Record<string, BindValue> };
export type BatchMode = "deferred" | "immediate" | "exclusive" | "write" | "read";

export interface FunctionOptions {
  /** Same arguments, same result (lets the planner reuse it). */
  deterministic?: boolean;
  /** Any number of arguments (otherwise fn.length). */
  varargs?: boolean;
}

export interface AggregateOptions<T> extends FunctionOptions {
  start?: T | (() => T);
  step: (accumulator: T, ...values: any[]) => T | void;
  result?: (accumulator: T) => any;
}

export declare class SqliteError extends Error {
  readonly name: "SqliteError";
  /** SQLite's symbolic extended result code, e.g. "SQLITE_CONSTRAINT_UNIQUE". */
  readonly code: string;
  /** The numeric extended result code, e.g. 2067. */
  readonly rawCode: number;
  constructor(message: string, code: string, rawCode: number);
}

export declare class Statement<Row = any> {
  readonly source: string;
  readonly database: Database;
  /** True when the statement returns rows. */
  readonly reader: boolean;
  run(...params: BindParameters): Promise<RunResult>;
  get(...params: BindParameters): Promise<Row | undefined>;
  all(...params: BindParameters): Promise<Row[]>;
  iterate(...params: BindParameters): AsyncIterableIterator<Row>;
  /** Rows as arrays of values. */
  raw(toggle?: boolean): this;
  /** Rows as their first value. */
  pluck(toggle?: boolean): this;
  /** Integers as BigInt. */
  safeIntegers(toggle?: boolean): this;
  /** Result columns; through a browser worker, known once a call on the statement has completed. */
  columns(): ColumnDefinition[];
  /** Bind parameters for every later call (which then take none). */
  bind(...params: BindParameters): this;
  close(): void;
}

export interface TransactionFunction<F extends (...args: any[]) => any> {
  (...args: Parameters<F>): Promise<Awaited<ReturnType<F>>>;
  default: TransactionFunction<F>;
  deferred: TransactionFunction<F>;
  immediate: TransactionFunction<F>;
  exclusive: TransactionFunction<F>;
  readonly database: Database;
}

export declare class Database {
  readonly name: string;
  readonly readonly: boolean;
  readonly open: boolean;
  readonly memory: boolean;
  readonly inTransaction: boolean;
  /** Usable with or without await. In Node, SQL errors are thrown here. */
  prepare<Row = any>(sql: string): Statement<Row>;
  exec(sql: string): Promise<this>;
  run(sql: string, ...params: BindParameters): Promise<RunResult>;
  get<Row = any>(sql: string, ...params: BindParameters): Promise<Row | undefined>;
  all<Row = any>(sql: string, ...params: BindParameters): Promise<Row[]>;
  iterate<Row = any>(sql: string, ...params: BindParameters): AsyncIterableIterator<Row>;
  batch(statements: BatchStatement[], mode?: BatchMode): Promise<ResultSet[]>;
  transaction<F extends (...args: any[]) => any>(fn: F): TransactionFunction<F>;
  pragma(source: string, options?: { simple?: boolean }): Promise<any>;
  /** Register a JavaScript SQL function (in Node, or inside a worker; not through a page's worker). */
  function(name: string, fn: (...args: any[]) => any): this;
  function(name: string, options: FunctionOptions, fn: (...args: any[]) => any): this;
  /** Register a JavaScript aggregate: step returns the next accumulator (undefined keeps it). */
  aggregate<T>(name: string, options: AggregateOptions<T>): this;
  defaultSafeIntegers(toggle?: boolean): this;
  /** The database file's bytes after a full checkpoint (better-sqlite3's serialize()): an ordinary
   * SQLite file (encrypted as on disk for an encrypted database), a Buffer in Node. Rejects with
   * SQLITE_BUSY while another connection's read transaction keeps the checkpoint from finishing. */
  serialize(): Promise<Uint8Array>;
  /** WAL frame API (replication): committed frames in this database's WAL. */
  walFrameCount(): Promise<number>;
  /** Frame n (from 1) as stored: its 24-byte header followed by its page. */
  walGetFrame(n: number): Promise<Uint8Array>;
  /** Take the write lock for a run of walInsertFrame calls. */
  walInsertBegin(): Promise<void>;
  /** Insert a primary's frame n: identical to one already there is accepted, different is a
   * SqliteError (nothing applied); the next position waits for its commit frame; a gap is an error. */
  walInsertFrame(n: number, frame: Uint8Array): Promise<void>;
  /** End the insert session, dropping a transaction whose commit frame did not come. */
  walInsertEnd(): Promise<void>;
  /** Stop automatic checkpoints, so frame numbers stay aligned with the primary's. */
  walAutoCheckpointDisable(): Promise<void>;
  close(): Promise<void>;
}

/** Open a database file (a host file in Node, an OPFS file in a browser) or ":memory:".
 * A "file:" URI is read as SQLite reads it: "file:NAME?cipher=aegis256&hexkey=..." opens an
 * encrypted database, mode=ro is readonly, mode=rw fileMustExist, mode=memory ":memory:". */
export declare function connect(path: string, options?: Options): Promise<Database>;
