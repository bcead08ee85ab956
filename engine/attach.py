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
ATTACH and DETACH run inside the VM (OP_Function), so opening and closing the
file are re-entrant: the half-opened inner Connection waits in
``conn.attach_pending`` while the statement returns IO. An encrypted file is
attached as Turso does it, by a URI naming its cipher and key
(``file:x.db?cipher=aegis256&hexkey=..``); ``KEY`` is parsed and ignored, as
in SQLite without a codec and in Turso.
Mirrors sqlite src/attach.c and the iDb handling of src/main.c.
"""

import os
from urllib.parse import parse_qsl, unquote

from limbodb.errors import OperationalError
from limbodb.io.completion import IO, run_sync
from limbodb.storage.encryption import split_encryption_uri

# SQLITE_MAX_ATTACHED's default.
MAX_ATTACHED = 10
TEMP = 1


def _has_aux(conn):
    return len(conn.dbs) > 2 or conn.dbs[TEMP] is not None


def _uri_path(uri):
    """(file path, readonly) of a ``file:`` URI (authority dropped, %-escapes decoded, mode=ro)."""
    rest, _, query = uri[5:].partition("?")
    if rest.startswith("//"):
        rest = rest[2:]
        rest = rest[rest.find("/"):] if "/" in rest else ""
    mode = dict(parse_qsl(query)).get("mode", "rwc")
    if mode not in ("ro", "rw", "rwc", "memory"):
        raise OperationalError(f"no such access mode: {mode}")
    path = unquote(rest)
    return (":memory:" if mode == "memory" else path), mode == "ro"


def _new_inner(conn, path, name, index):
    """A new inner Connection for database ``name`` at ``index`` of ``conn.dbs``, not yet opened."""
    from limbodb.connection import Connection, default_io
    readonly = conn.readonly
    path, encryption = split_encryption_uri(path)
    if encryption is not None:
        # Turso reads the key from the URI, which makes the name a URI even without uri=True.
        path, ro = _uri_path(path)
        readonly = readonly or ro
    if path == "" or path == ":memory:":
        io = default_io(":memory:")
        path = ":memory:"
    elif conn.path == ":memory:":
        # An in-memory main has a private MemoryIO; a real file needs the file backend.
        io = default_io(path, "blocking")
    else:
        io = conn.io
    inner = Connection(path, io, readonly=readonly, encryption=encryption)
    inner.db_name = name
    inner.db_index = index
    inner.functions = conn.functions
    inner.collations = conn.collations
    return inner


def _schema_changed(conn):
    """Prepared programs name databases by index: rebuild them all."""
    conn.schema_generation += 1
    conn._clear_cache()


def attach(conn, path, name):
    """Re-entrant: ATTACH ``path`` AS ``name`` (raises sqlite3's errors).

    The inner Connection is created on the first call and kept in
    ``conn.attach_pending`` (with the arguments) until its open finishes; a call
    with other arguments (the earlier statement was reset mid-open) starts over.
    Nothing is added to ``conn.dbs`` before the open succeeded."""
    lname = name.lower()
    if lname in ("main", "temp") or any(d is not None and d.db_name.lower() == lname for d in conn.dbs):
        raise OperationalError(f"database {name} is already in use")
    if len(conn.dbs) - 2 >= MAX_ATTACHED:
        raise OperationalError(f"too many attached databases - max {MAX_ATTACHED}")
    pending = conn.attach_pending
    if pending is None or pending[0] != path or pending[1] != name:
        pending = conn.attach_pending = (path, name, _new_inner(conn, path, name, len(conn.dbs)))
    inner = pending[2]
    try:
        r = inner.open()
    except BaseException:
        conn.attach_pending = None
        raise
    if r.__class__ is IO:
        return r
    conn.attach_pending = None
    conn.dbs.append(inner)
    _schema_changed(conn)
    return None


def detach(conn, name):
    """Re-entrant: DETACH ``name`` (raises sqlite3's errors); the database stays listed until
    its close (which may checkpoint) has finished."""
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
    r = inner.close()
    if r.__class__ is IO:
        return r
    del conn.dbs[i]
    for j in range(i, len(conn.dbs)):
        conn.dbs[j].db_index = j
        conn.dbs[j].schema.set_db(j)
    _schema_changed(conn)
    return None


def temp_db(conn):
    """The temp database's inner Connection, created (empty, in memory) on first use."""
    inner = conn.dbs[TEMP]
    if inner is None:
        inner = _new_inner(conn, ":memory:", "temp", TEMP)
        # Compile time, where nothing may yield; an in-memory database's MemoryIO never waits.
        run_sync(inner.io, inner.open)
        conn.dbs[TEMP] = inner
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
    """The Connection holding database ``index`` (creating temp on demand); ``conn`` itself
    when it is that database (DDL compiled against an attached database's own connection)."""
    if index == conn.db_index:
        return conn
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
