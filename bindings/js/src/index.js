// limbodb for Node.js: `import { connect } from "limbodb"`, the Promise-based
// API of @tursodatabase/database over limbodb in Pyodide (see node-engine.js).

import { Database } from "./database.js";
import { nodeEngine } from "./node-engine.js";

export { Database } from "./database.js";
export { Statement } from "./statement.js";
export { SqliteError } from "./sqlite-error.js";

// Open a database: a file path, or ":memory:". Options: readonly, fileMustExist, defaultSafeIntegers.
export async function connect(path, options = {}) {
  const db = new Database(await nodeEngine(), path, options);
  return db._connect();
}
