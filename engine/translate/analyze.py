"""ANALYZE and REINDEX.

ANALYZE creates ``sqlite_stat1(tbl,idx,stat)`` on first use, deletes the rows
of what it is about to measure, then appends one row per non-empty index
("nrow avg-rows-per-prefix...") and, for a table with no index, one row with
idx NULL and its row count, exactly as SQLite writes them (a WITHOUT ROWID
table's primary key is listed under the table's name). REINDEX empties and
refills every index of the database, of one table, one index, or those using
one collation. The counting and refilling run in the Analyze and Reindex
opcodes (vdbe/execute_maintenance.py).
Mirrors sqlite src/analyze.c (sqlite3Analyze, analyzeOneTable) and
src/build.c (sqlite3Reindex).
"""

from limbodb.errors import OperationalError
from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.expr import Source
from limbodb.translate.schema import _delete_schema_rows, _finish_ddl, _schema_row
from limbodb.translate.without_rowid import index_entry_columns, pk_index
from limbodb.vdbe.execute_cursor import OPFLAG_P2ISREG
from limbodb.vdbe.insn import OP_Analyze, OP_Clear, OP_CreateBtree, OP_Integer, OP_OpenWrite, OP_Reindex

_STAT1_SQL = "CREATE TABLE sqlite_stat1(tbl,idx,stat)"


def _user_tables(s):
    return [t for t in s.tables.values() if not t.name.lower().startswith("sqlite_")]


def _stat_target(table, only=None):
    """(tbl, root, [(idx name, root, KeyInfo, collations)], count rows) for the Analyze opcode.

    The table's own row count is written when no index covers every row (no
    index, or only partial ones), and not when one index alone is analyzed.
    """
    indexes = []
    for idx in table.indexes:
        if only is not None and idx is not only:
            continue
        if table.without_rowid and idx.origin == "pk":
            indexes.append((table.name, table.root, idx.key_info(), [c.collation for c in idx.columns]))
        else:
            indexes.append((idx.name, idx.root, idx.key_info(), [c.collation for c in idx.columns]))
    count = only is None and all(idx.where is not None for idx in table.indexes)
    return (table.name, table.root, indexes, count)


def translate_analyze(stmt, conn):
    s = conn.schema
    name = stmt.name
    if stmt.schema is not None and stmt.schema.lower() != "main":
        raise OperationalError(f"unknown database {stmt.schema}")
    only = None
    if name is None or (stmt.schema is None and name.lower() == "main"):
        tables = _user_tables(s)
    elif name.lower() in s.indexes:
        only = s.indexes[name.lower()]
        tables = [s.table(only.table)]
    elif name.lower() in s.tables:
        tables = [s.tables[name.lower()]]
    else:
        raise OperationalError(f"no such table: {name}")
    b = ProgramBuilder(conn)
    b.write = True
    root = b.alloc_reg()
    stat1 = s.tables.get("sqlite_stat1")
    cur = b.alloc_cursor()
    if stat1 is None:
        b.emit(OP_OpenWrite, cur, 1, 0, 5)
        b.emit(OP_CreateBtree, 0, root, 1)
        _schema_row(b, cur, "table", "sqlite_stat1", "sqlite_stat1", root, _STAT1_SQL)
    else:
        b.emit(OP_Integer, stat1.root, root)
        b.emit(OP_OpenWrite, cur, root, 0, 3, OPFLAG_P2ISREG)
        if name is None or (stmt.schema is None and name.lower() == "main"):
            b.emit(OP_Clear, stat1.root, 0, 0)
        elif only is not None:
            _delete_schema_rows(b, cur, 1, only.name)
        else:
            _delete_schema_rows(b, cur, 0, tables[0].name)
    targets = [_stat_target(t, only) for t in tables if not t.name.lower().startswith("sqlite_")]
    b.emit(OP_Analyze, root, 0, 0, targets)
    if stat1 is None:
        return _finish_ddl(b, conn)
    return b.finish(readonly=False)


def _reindex_job(table, idx):
    """The Reindex opcode's description of how to rebuild ``idx`` from ``table``'s rows."""
    defaults = Source.for_table(table, table.name, 0).col_defaults
    if table.without_rowid:
        pk = pk_index(table)
        order = [ic.col for ic in pk.columns]
        order += [c for c in range(len(table.columns)) if c not in order]
        positions = [order.index(c) for c in index_entry_columns(table, idx)]
        cols = [order[p] for p in positions]
        table_key = pk.key_info()
    else:
        cols = [ic.col for ic in idx.columns]
        positions = [-1 if c == table.rowid_alias else c for c in cols] + [-1]
        cols.append(-1)
        table_key = None
    dflts = [defaults[c] if defaults is not None and c >= 0 else None for c in cols]
    return (table.root, table_key, idx.root, idx.key_info(), positions, dflts)


def translate_reindex(stmt, conn):
    s = conn.schema
    name = stmt.name
    if stmt.schema is not None and stmt.schema.lower() != "main":
        raise OperationalError(f"unknown database {stmt.schema}")
    pairs = []
    for table in s.tables.values():
        for idx in table.indexes:
            if table.without_rowid and idx.origin == "pk":
                continue
            pairs.append((table, idx))
    if name is not None:
        lname = name.lower()

        def uses(idx):
            return any((c.collation or "").lower() == lname for c in idx.columns)
        # sqlite3Reindex tries a collation name first, then a table, then an index.
        if stmt.schema is None and (lname in ("binary", "nocase", "rtrim") or any(uses(i) for _, i in pairs)):
            pairs = [(t, i) for t, i in pairs if uses(i)]
        elif lname in s.tables:
            pairs = [(t, i) for t, i in pairs if t.name.lower() == lname]
        elif lname in s.indexes:
            pairs = [(t, i) for t, i in pairs if i.name.lower() == lname]
        else:
            raise OperationalError("unable to identify the object to be reindexed")
    b = ProgramBuilder(conn)
    b.write = True
    from limbodb.translate.generated import has_generated
    from limbodb.translate.index_keys import emit_rebuild, is_special
    special = [(t, i) for t, i in pairs if is_special(i) or has_generated(t)]
    plain = [p for p in pairs if p not in special]
    if plain:
        b.emit(OP_Reindex, 0, 0, 0, [_reindex_job(t, i) for t, i in plain])
    for t, i in special:
        emit_rebuild(b, t, i)
    return b.finish(readonly=False)
