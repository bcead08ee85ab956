"""SQL functions of change data capture, with Turso's semantics and messages.

``table_columns_json_array(t)`` names a table's columns as a JSON array and
``bin_record_json_object(cols, record)`` decodes a record-format blob (a
``before``/``after``/``updates`` value of the CDC table) into a JSON object
keyed by those names. ``conn_txn_id`` and ``is_autocommit`` exist for the
code the CDC translation emits (``txn_id`` and ``autocommit`` here, called
through OP_Function with the connection); called from SQL they fail as in
Turso. The connection's CDC transaction id lives in ``conn.cdc_txn_id``
(None outside a transaction that captured a change; the connection clears
it when the write transaction ends). Mirrors Turso core/function.rs and
core/vdbe/execute.rs (the CDC functions).
"""

import json
from decimal import Decimal

from limbodb.errors import CorruptError, OperationalError
from limbodb.functions.json import quote_string
from limbodb.storage.record import decode_record


def txn_id(conn, candidate):
    """conn_txn_id(candidate): the transaction's CDC id, set to ``candidate`` by its first use."""
    current = getattr(conn, "cdc_txn_id", None)
    if current is None:
        current = conn.cdc_txn_id = candidate
    return current


def current_txn_id(conn):
    """The transaction's CDC id, or None when it has captured nothing (COMMIT's check)."""
    return getattr(conn, "cdc_txn_id", None)


def autocommit(conn):
    """is_autocommit(): 1 when no explicit transaction is open."""
    return 1 if conn.autocommit else 0


def _internal(name):
    def fn(*args):
        raise OperationalError(f"{name} is an internal function used by CDC")
    return fn


def table_columns_json_array(conn, name):
    if name.__class__ is not str:
        raise OperationalError("table_columns_json_array: function argument must be of type TEXT")
    table = conn.schema.get_table(name)
    if table is None:
        raise OperationalError(f"table_columns_json_array: table {name} doesn't exists")
    return "[" + ",".join(quote_string(c.name) for c in table.columns) + "]"


def _float_json(v):
    """A REAL as Turso writes it: the shortest digits that read back the same value, in
    fixed notation for decimal exponents -5..15 (with ".0" when integral), else as
    ``d.ddde+X`` (no exponent padding)."""
    sign, digits, exp = Decimal(repr(v)).as_tuple()
    text = "".join(map(str, digits))
    stripped = text.rstrip("0")
    exp += len(text) - len(stripped)
    text = stripped or "0"
    e = len(text) + exp - 1 if stripped else 0
    if -5 <= e < 16:
        if exp >= 0:
            out = text + "0" * exp + ".0"
        elif len(text) + exp > 0:
            out = text[:len(text) + exp] + "." + text[len(text) + exp:]
        else:
            out = "0." + "0" * -(len(text) + exp) + text
    else:
        out = f"{text[0]}.{text[1:] or '0'}e{'+' if e >= 0 else '-'}{abs(e)}"
    return "-" + out if sign else out


def _json_value(v):
    cls = v.__class__
    if v is None:
        return "null"
    if cls is int:
        return str(v)
    if cls is float:
        return _float_json(v)
    if cls is str:
        return quote_string(v)
    raise OperationalError("bin_record_json_object: formatting of BLOB values stored in binary record "
                           "is not supported")


def bin_record_json_object(columns, record):
    if record is None:
        return None
    if columns.__class__ is not str or record.__class__ is not bytes:
        raise OperationalError("bin_record_json_object: function arguments must be of type TEXT and BLOB "
                               "correspondingly")
    try:
        names = json.loads(columns)
    except ValueError as e:
        raise OperationalError(f"bin_record_json_object: malformed columns argument: {e}") from e
    if names.__class__ is not list or any(n.__class__ is not str for n in names):
        raise OperationalError("bin_record_json_object: columns argument must be a JSON array of strings")
    try:
        values = decode_record(record)
    except (CorruptError, IndexError, ValueError) as e:
        raise OperationalError("bin_record_json_object: malformed binary record") from e
    if len(values) < len(names):
        raise OperationalError("bin_record_json_object: binary record has fewer columns than specified "
                               "in the columns argument")
    return "{" + ",".join(quote_string(n) + ":" + _json_value(v) for n, v in zip(names, values)) + "}"


def register_all(reg):
    """Add the CDC functions to ``reg``."""
    reg.register("table_columns_json_array", 1, table_columns_json_array, deterministic=False,
                 needs_context=True)
    reg.register("bin_record_json_object", 2, bin_record_json_object)
    reg.register("conn_txn_id", 1, _internal("conn_txn_id"), deterministic=False)
    reg.register("is_autocommit", 0, _internal("is_autocommit"), deterministic=False)
