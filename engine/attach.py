"""The connection's list of databases: main, temp and attached ones (SQLite's db->aDb).

``conn.dbs[0]`` is the connection itself (main), ``conn.dbs[1]`` the temp
database (an in-memory inner Connection created on first use, gone at close)
and ``conn.dbs[2:]`` the ATTACHed databases in attach order, each an inner
Connection with its own pager and schema whose ``db_index`` is its place in the
list (DETACH closes the gap, as sqlite3CollapseDatabaseArray does, and the
schema objects are renumbered). The outer connection owns the transaction:
its commit or rollback ends the inner ones too. Without a super-journal a
commit spanning several files is not atomic (each file commits on its own, in
list order, as SQLite does for WAL databases); a rollback undoes them all.
Mirrors sqlite src/attach.c and the iDb handling of src/main.c.
"""

import os

from limbodb.errors import OperationalError
from limbodb.io.completion import IO, run_sync

# SQLITE_MAX_ATTACHED's default.
MAX_ATTACHED = 10
TEMP = 1


def _has_aux(conn):
    return len(conn.dbs) > 2 or conn.dbs[TEMP] is not None


def _open_inner(conn, path, name, index):
    """A new inner Connection for database ``name`` at ``index`` of ``conn.dbs``, opened."""
    from limbodb.connection import Connection, default_io
    if path == "" or path == ":memory:":
        io = default_io(":memory:")
        path = ":memory:"
    elif conn.path == ":memory:":
        # An in-memory main has a private MemoryIO; a real file needs the file backend.
        io = default_io(path, "blocking")
    else:
        io = conn.io
    inner = Connection(path, io, readonly=conn.readonly)
    inner.db_name = name
    inner.db_index = index
    inner.functions = conn.functions
    inner.collations = conn.collations
    # Opening is rare and local: wait here rather than thread an IOResult through OP_Function.
    run_sync(io, inner.open)
    return inner


def _schema_changed(conn):
    """Prepared programs name databases by index: rebuild them all."""
    conn.schema_generation += 1
    conn._clear_cache()


def attach(conn, path, name):
    """ATTACH ``path`` AS ``name`` (raises sqlite3's errors)."""
    lname = name.lower()
    if lname in ("main", "temp") or any(d is not None and d.db_name.lower() == lname for d in conn.dbs):
        raise OperationalError(f"database {name} is already in use")
    if len(conn.dbs) - 2 >= MAX_ATTACHED:
        raise OperationalError(f"too many attached databases - max {MAX_ATTACHED}")
    conn.dbs.append(_open_inner(conn, path, name, len(conn.dbs)))
    _schema_changed(conn)


def detach(conn, name):
    """DETACH ``name`` (raises sqlite3's errors)."""
    lname = name.lower()
    if lname == "main":
        raise OperationalError("cannot detach database main")
    for i in range(2, len(conn.dbs)):
        inner = conn.dbs[i]
        if inner.db_name.lower() == lname:
            break
    else:
        raise OperationalError(f"no such database: {name}")
    if inner._write_tx or inner._read_tx:
        # A transaction or a running statement still uses it.
        raise OperationalError(f"database {name} is locked")
    run_sync(inner.io, inner.close)
    del conn.dbs[i]
    for j in range(i, len(conn.dbs)):
        conn.dbs[j].db_index = j
        conn.dbs[j].schema.set_db(j)
    _schema_changed(conn)


def temp_db(conn):
    """The temp database's inner Connection, created (empty, in memory) on first use."""
    inner = conn.dbs[TEMP]
    if inner is None:
        inner = conn.dbs[TEMP] = _open_inner(conn, ":memory:", "temp", TEMP)
        _schema_changed(conn)
    return inner


def db_index(conn, name):
    """The index of the database called ``name``, or -1 (``temp`` always exists)."""
    lname = name.lower()
    if lname == "main":
        return 0
    if lname == "temp":
        return TEMP
    for i in range(2, len(conn.dbs)):
        if conn.dbs[i].db_name.lower() == lname:
            return i
    return -1


def db_of(conn, index):
    """The Connection holding database ``index`` (creating temp on demand)."""
    return temp_db(conn) if index == TEMP else conn.dbs[index]


def database_list(conn):
    """PRAGMA database_list rows: (seq, name, file); temp only once it exists."""
    rows = []
    for i, d in enumerate(conn.dbs):
        if d is not None:
            path = "" if d.path == ":memory:" or i == TEMP else os.path.abspath(d.path)
            rows.append((i, d.db_name, path))
    return rows


def end_aux(conn, ok):
    """Re-entrant: commit (``ok``) or roll back the open transactions of temp and attached
    databases, in index order; a database already finished is skipped when called again."""
    if not _has_aux(conn):
        return None
    for inner in conn.dbs[1:]:
        if inner is not None:
            r = inner.statement_done(ok)
            if r.__class__ is IO:
                return r
    return None


def rollback_aux(conn):
    """Roll back the temp and attached databases (a rollback never waits)."""
    end_aux(conn, False)


def end_aux_reads(conn):
    """End the read transactions of temp and attached databases (no statement runs any more)."""
    for inner in conn.dbs[1:]:
        if inner is not None and not inner._write_tx:
            inner._end_read()


def close_aux(conn):
    """Re-entrant: close the temp and attached databases."""
    for inner in conn.dbs[1:]:
        if inner is not None:
            r = inner.close()
            if r.__class__ is IO:
                return r
    return None
