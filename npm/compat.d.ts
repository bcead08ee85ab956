// Type declarations for limbodb/compat: better-sqlite3's synchronous API (Node.js only).

import type {
  AggregateOptions, BatchMode, BatchStatement, BindParameters, ColumnDefinition, EncryptionOptions, FunctionOptions,
  ResultSet, RunResult,
} from "./index.js";

export { SqliteError } from "./index.js";

export interface Options {
  readonly?: boolean;
  fileMustExist?: boolean;
  defaultSafeIntegers?: boolean;
  encryption?: EncryptionOptions;
}

export declare class Statement<Row = any> {
  readonly source: string;
  readonly database: Database;
  readonly reader: boolean;
  run(...params: BindParameters): RunResult;
  get(...params: BindParameters): Row | undefined;
  all(...params: BindParameters): Row[];
  iterate(...params: BindParameters): IterableIterator<Row>;
  raw(toggle?: boolean): this;
  pluck(toggle?: boolean): this;
  safeIntegers(toggle?: boolean): this;
  columns(): ColumnDefinition[];
  bind(...params: BindParameters): this;
  close(): void;
}

export interface TransactionFunction<F extends (...args: any[]) => any> {
  (...args: Parameters<F>): ReturnType<F>;
  default: TransactionFunction<F>;
  deferred: TransactionFunction<F>;
  immediate: TransactionFunction<F>;
  exclusive: TransactionFunction<F>;
  readonly database: Database;
}

export default class Database {
  /** path: a file, ":memory:", or a "file:" URI as connect() takes (index.d.ts). */
  constructor(path?: string, options?: Options);
  readonly name: string;
  readonly readonly: boolean;
  readonly open: boolean;
  readonly memory: boolean;
  readonly inTransaction: boolean;
  prepare<Row = any>(sql: string): Statement<Row>;
  exec(sql: string): this;
  run(sql: string, ...params: BindParameters): RunResult;
  get<Row = any>(sql: string, ...params: BindParameters): Row | undefined;
  all<Row = any>(sql: string, ...params: BindParameters): Row[];
  iterate<Row = any>(sql: string, ...params: BindParameters): IterableIterator<Row>;
  batch(statements: BatchStatement[], mode?: BatchMode): Promise<ResultSet[]>;
  transaction<F extends (...args: any[]) => any>(fn: F): TransactionFunction<F>;
  pragma(source: string, options?: { simple?: boolean }): any;
  function(name: string, fn: (...args: any[]) => any): this;
  function(name: string, options: FunctionOptions, fn: (...args: any[]) => any): this;
  aggregate<T>(name: string, options: AggregateOptions<T>): this;
  defaultSafeIntegers(toggle?: boolean): this;
  /** The database file's bytes after a full checkpoint, a Buffer (see index.d.ts). */
  serialize(): Uint8Array;
  /** The WAL frame API, synchronously: see index.d.ts. */
  walFrameCount(): number;
  walGetFrame(n: number): Uint8Array;
  walInsertBegin(): void;
  walInsertFrame(n: number, frame: Uint8Array): void;
  walInsertEnd(): void;
  walAutoCheckpointDisable(): void;
  close(): this;
}

export { Database };
