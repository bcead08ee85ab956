"""``limbodb --mcp``: a Model Context Protocol server over stdio.

JSON-RPC 2.0, one message per line, as MCP's stdio transport defines it:
``initialize``, ``ping``, ``tools/list`` and ``tools/call``. The tools list
tables, describe a table's schema and run a query; results are returned both
as text and as ``structuredContent`` JSON. Notifications get no answer.
"""

import json

import limbodb
from limbodb.cli.render import quote_identifier

PROTOCOL_VERSION = "2025-06-18"

TOOLS = [
    {
        "name": "list_tables",
        "description": "List the tables and views of the database.",
        "inputSchema": {"type": "object", "properties": {}},
    },
    {
        "name": "describe_table",
        "description": "Describe a table: its columns (name, type, nullability, default, primary key) and CREATE statement.",
        "inputSchema": {
            "type": "object",
            "properties": {"table": {"type": "string", "description": "table name"}},
            "required": ["table"],
        },
    },
    {
        "name": "query",
        "description": "Run one SQL statement and return its columns, rows and the number of rows changed.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "sql": {"type": "string", "description": "SQL statement"},
                "params": {"type": "array", "description": "values for ? parameters", "items": {}},
            },
            "required": ["sql"],
        },
    },
]


def _jsonable(v):
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"blob": bytes(v).hex()}
    if isinstance(v, float) and v != v:
        return None
    return v


class McpServer:
    """Answers MCP requests against one limbodb connection."""

    def __init__(self, conn, readonly=False):
        self.conn = conn
        self.readonly = readonly

    def handle(self, message):
        """One JSON-RPC message in; the response dict out (None for a notification)."""
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or "method" not in message:
            return _error(message.get("id") if isinstance(message, dict) else None, -32600, "Invalid Request")
        method = message["method"]
        msg_id = message.get("id")
        if msg_id is None:
            return None
        params = message.get("params") or {}
        if method == "initialize":
            return _result(msg_id, {
                "protocolVersion": params.get("protocolVersion", PROTOCOL_VERSION),
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "limbodb", "version": limbodb.__version__},
            })
        if method == "ping":
            return _result(msg_id, {})
        if method == "tools/list":
            return _result(msg_id, {"tools": TOOLS})
        if method == "tools/call":
            return _result(msg_id, self._call(params.get("name"), params.get("arguments") or {}))
        return _error(msg_id, -32601, f"Method not found: {method}")

    def _call(self, name, args):
        try:
            if name == "list_tables":
                rows = self.conn.execute(
                    "SELECT name, type FROM sqlite_schema WHERE type IN ('table','view') "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
                data = {"tables": [{"name": n, "type": t} for n, t in rows]}
            elif name == "describe_table":
                data = self._describe(args["table"])
            elif name == "query":
                data = self._query(args["sql"], args.get("params") or [])
            else:
                return {"content": [{"type": "text", "text": f"unknown tool: {name}"}], "isError": True}
        except (limbodb.Error, KeyError, TypeError) as e:
            return {"content": [{"type": "text", "text": f"Error: {e}"}], "isError": True}
        return {"content": [{"type": "text", "text": json.dumps(data)}], "structuredContent": data,
                "isError": False}

    def _describe(self, table):
        row = self.conn.execute("SELECT sql FROM sqlite_schema WHERE type IN ('table','view') AND name = ?",
                                (table,)).fetchone()
        if row is None:
            raise limbodb.OperationalError(f"no such table: {table}")
        cols = self.conn.execute(f"PRAGMA table_info({quote_identifier(table)})").fetchall()
        return {
            "table": table,
            "sql": row[0],
            "columns": [{"name": c[1], "type": c[2], "notnull": bool(c[3]), "default": c[4], "pk": c[5]}
                        for c in cols],
        }

    def _query(self, sql, params):
        if self.readonly and not sql.lstrip().upper().startswith(("SELECT", "WITH", "EXPLAIN", "PRAGMA", "VALUES")):
            raise limbodb.OperationalError("attempt to write a readonly database")
        cur = self.conn.execute(sql, params)
        columns = [d[0] for d in cur.description] if cur.description else []
        rows = [[_jsonable(v) for v in r] for r in cur.fetchall()] if columns else []
        return {"columns": columns, "rows": rows, "changes": cur.rowcount if cur.rowcount >= 0 else 0}


def _result(msg_id, result):
    return {"jsonrpc": "2.0", "id": msg_id, "result": result}


def _error(msg_id, code, message):
    return {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}


def serve(path, stdin, stdout, readonly=False):
    """Serve MCP on the given streams until end of input; returns the exit status."""
    conn = limbodb.connect(path, isolation_level=None)
    server = McpServer(conn, readonly)
    try:
        for line in stdin:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                response = _error(None, -32700, "Parse error")
            else:
                response = server.handle(message)
            if response is not None:
                stdout.write(json.dumps(response) + "\n")
                stdout.flush()
    finally:
        conn.close()
    return 0
