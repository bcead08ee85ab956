"""Connection: one session on a database, and the services the VM calls.

Owns the connection's Pager, its copy of the schema (reloaded when the schema
cookie on disk differs from the one it was built from, or after DDL), the
transaction state, the prepared-program cache, the change counters and the
user functions and collations.

Transactions: ``autocommit`` is True unless BEGIN opened an explicit
transaction. ``begin(write)`` (OP_Transaction) opens the read transaction and,
for a write, the write transaction. In autocommit mode a statement's writes
commit at its OP_Halt (``statement_done``), and the read transaction ends
when the last running statement ends (``statement_ended``), as sqlite3VdbeHalt
does. Every method returning IOResult is re-entrant and records progress in
attributes before it can wait. Mirrors sqlite src/main.c and src/prepare.c,
Turso core/lib.rs (Connection).
"""

from collections import OrderedDict

from limbodb.errors import (
    IntegrityError, OperationalError, ProgrammingError, SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_READONLY,
)
from limbodb.functions import FUNCTIONS
from limbodb.io.completion import IO
from limbodb.parser import parse_one
from limbodb.attach import close_aux, end_aux, end_aux_reads, rollback_aux
from limbodb.mvcc import DDL_MESSAGE, NOT_ENABLED_MESSAGE, MvccTx, close_checkpoint, mvcc_enabled, mvcc_open
from limbodb.schema import Schema
from limbodb.statement import Statement
from limbodb.storage import record
from limbodb.storage.btree import BTreeCursor
from limbodb.storage.encryption import encryption_from_options
from limbodb.storage.pager import Database, Pager
from limbodb.translate import translate
from limbodb.vdbe.execute_savepoint import open_pending

# Prepared programs kept per connection (sqlite3's cached_statements default).
DEFAULT_CACHE_SIZE = 128

# sqlite_schema has five columns: type, name, tbl_name, rootpage, sql.
_SCHEMA_COLUMNS = range(5)


# Phases of reading sqlite_schema: FIRST -> READ -> NEXT -> READ ... -> done.
# READ: the cursor is on an entry not yet appended; NEXT: it has been appended.
_LOAD_FIRST = 0
_LOAD_READ = 1
_LOAD_NEXT = 2


def default_io(path, kind=None):
    """The backend for ``path`` given ``io=None`` or a kind name ("auto", "uring", "blocking"):
    a fresh MemoryIO for ":memory:", else the process's shared file backend chosen by
    ``limbodb.io.uring.choose_io`` (Database objects are shared per backend, so file
    connections must share one to share a Database)."""
    if path == ":memory:":
        from limbodb.io import MemoryIO
        return MemoryIO()
    from limbodb.io.uring.choose import choose_io
    return choose_io(kind)


class _SchemaLoad:
    """Progress of reading sqlite_schema: the cursor, rows so far, and where to resume."""

    __slots__ = ("cursor", "rows", "phase")

    def __init__(self, cursor):
        self.cursor = cursor
        self.rows = []
        self.phase = _LOAD_FIRST


class Connection:
    """A connection (contracts.md §7 and §10)."""

    def __init__(self, path, io=None, cache_size=DEFAULT_CACHE_SIZE, readonly=False, encryption=None):
        if io is None or isinstance(io, str):
            io = default_io(path, io)
        self.io = io
        self.path = path
        self.readonly = readonly
        # {"cipher", "hexkey"} or an EncryptionContext: the database is encrypted at rest.
        self.encryption = encryption_from_options(encryption)
        self.db = None
        self.pager = None
        self.schema = Schema()
        # Bumped at every schema (re)load; prepared programs of older generations are rebuilt.
        self.schema_generation = 0
        self.functions = FUNCTIONS.copy()
        self.collations = {}
        self.autocommit = True
        self.last_insert_rowid = 0
        self.changes = 0
        self.total_changes = 0
        self.interrupted = False
        self.closed = False
        # Connection-level PRAGMA settings: cache_size in SQLite's units, foreign_keys on/off,
        # busy_timeout in milliseconds (how long the synchronous API retries a BUSY statement).
        self.cache_size_pragma = -2000
        self.foreign_keys_pragma = 0
        self.busy_timeout = 0
        # SAVEPOINTs of the open transaction, oldest first (vdbe/execute_savepoint.py), and
        # the deferred foreign key violations it still owes (checked at COMMIT).
        self.savepoints = []
        self.fk_deferred = 0
        self.defer_foreign_keys = 0
        # Set while compiling DROP TABLE's implicit DELETE (translate/fkey.py).
        self.fk_lenient = False
        # On the temp database's connection: the database each TEMP trigger's table was found
        # in when it was created, {lowercased trigger name: (its sql, that database's
        # Connection)} (translate/trigger.py).
        self.temp_trigger_tables = {}
        # Change data capture (translate/cdc.py): the PRAGMA's setting, and the id of the
        # write transaction's changes (set by its first captured change, cleared when it ends).
        self.cdc = None
        self.cdc_txn_id = None
        # MVCC (mvcc.py): the open write transaction's write set on an MVCC database (or the
        # BEGIN CONCURRENT transaction's, from its snapshot on); ``_concurrent`` while one is open.
        self.mvcc_tx = None
        self._concurrent = False
        # Databases by SQLite's index (db->aDb): 0 main (this connection), 1 temp (None until
        # first used), 2+ attached; temp and attached ones are inner Connections (attach.py).
        self.dbs = [self, None]
        # (path, name, inner Connection) of an ATTACH whose file is still opening (attach.py).
        self.attach_pending = None
        self.db_name = "main"
        self.db_index = 0
        # Set while a view of that database is compiled (translate/attach.py bound_db).
        self.bound_db = None
        self._read_tx = False
        self._write_tx = False
        self._schema_stale = True
        self._schema_load = None
        self._schema_changed_in_tx = False
        self._nrunning = 0
        self._cache = OrderedDict()
        self._cache_size = cache_size
        # Reset VMs of finalized statements, one per cached program: building a VM binds a
        # closure per instruction, which costs more than running a short program.
        self._idle_vms = OrderedDict()

    # ------------------------------------------------------------ opening and closing

    def open(self):
        """Re-entrant: open the database file (recovering it if needed) and load the schema."""
        if self.db is None:
            self.db = Database.open(self.io, self.path, self.encryption)
        r = self.db.open()
        if r.__class__ is IO:
            return r
        if self.pager is None:
            self.pager = Pager(self.db)
        r = mvcc_open(self)
        if r.__class__ is IO:
            return r
        return self.refresh_schema()

    def close(self):
        """Re-entrant: roll back an open transaction and release the pager."""
        if self.closed:
            return None
        if self.pager is not None:
            if self._write_tx:
                self.pager.rollback()
                self._write_tx = False
            self._end_read()
            r = close_checkpoint(self)
            if r.__class__ is IO:
                return r
            r = self.pager.close()
            if r.__class__ is IO:
                return r
        if len(self.dbs) > 2 or self.dbs[1] is not None:
            r = close_aux(self)
            if r.__class__ is IO:
                return r
        self.closed = True
        self._clear_cache()
        return None

    # ------------------------------------------------------------ preparing

    def prepare(self, sql, offset=0):
        """The first statement of ``sql[offset:]`` and the offset just past it.

        Returns ``(Statement | None, end)``; None when only whitespace and
        comments remain. Programs for a whole text (``offset == 0``) are kept
        in an LRU cache keyed by the text; later statements of a script are
        not cached, so a long script does not fill the cache with its tails.
        """
        if self.closed:
            raise ProgrammingError("Cannot operate on a closed database.")
        cache = self._cache
        if offset == 0:
            hit = cache.get(sql)
            if hit is not None and hit[2] == self.schema_generation:
                cache.move_to_end(sql)
                program, end = hit[0], hit[1]
                vm = self._idle_vms.pop(program, None)
                return Statement(self, program, sql[:end], self.schema_generation, vm), end
        stmt, end = parse_one(sql, offset)
        if stmt is None:
            return None, end
        program = translate(stmt, self)
        if offset == 0:
            cache[sql] = (program, end, self.schema_generation)
            if len(cache) > self._cache_size:
                cache.popitem(last=False)
        return Statement(self, program, sql[offset:end], self.schema_generation), end

    def recycle_vm(self, program, vm, generation):
        """Keep the reset ``vm`` of a finalized statement for the next Statement of ``program``."""
        if generation != self.schema_generation or self.closed:
            return
        params = vm.params
        for i in range(len(params)):
            params[i] = None
        idle = self._idle_vms
        idle[program] = vm
        if len(idle) > self._cache_size:
            idle.popitem(last=False)

    def compile(self, sql):
        """A Program for the single statement ``sql`` against the current schema (no cache)."""
        stmt, _ = parse_one(sql, 0)
        return translate(stmt, self)

    # ------------------------------------------------------------ VM services (§10)

    def begin(self, write):
        """Re-entrant: open the read transaction (and the write one if ``write``) unless open.

        Raises BusyError when another connection writes (OP_Transaction turns
        it into BUSY). A schema cookie that differs from ours reloads the schema.
        """
        pager = self.pager
        if not self._read_tx:
            if self._concurrent and self.mvcc_tx is None:
                # Registered before the snapshot, so no commit after it goes unrecorded.
                self.mvcc_tx = MvccTx(self, True)
            r = pager.begin_read_tx()
            if r.__class__ is IO:
                return r
            self._read_tx = True
            if self._disk_cookie() != self.schema.cookie:
                self._schema_stale = True
        if self._schema_stale:
            r = self._load_schema()
            if r.__class__ is IO:
                return r
        if write and not self._write_tx:
            if self.readonly:
                raise OperationalError("attempt to write a readonly database", SQLITE_READONLY)
            r = pager.begin_write_tx(self._concurrent)
            if r.__class__ is IO:
                return r
            self._write_tx = True
            if self.mvcc_tx is None and (self._concurrent or mvcc_enabled(self)):
                # A concurrent one registers here when a running statement's snapshot
                # predates BEGIN CONCURRENT (MvccTx.floor covers the unrecorded commits).
                self.mvcc_tx = MvccTx(self, self._concurrent)
            if self.savepoints:
                open_pending(self)
        return None

    def statement_done(self, ok):
        """Re-entrant: OP_Halt. In autocommit mode, commit (``ok``) or roll back the transaction."""
        if not self.autocommit:
            return None
        if self._write_tx:
            if ok:
                r = self._commit_pager()
                if r.__class__ is IO:
                    return r
                self._committed()
            else:
                self._rollback_pager()
            self._write_tx = False
        if len(self.dbs) > 2 or self.dbs[1] is not None:
            r = end_aux(self, ok)
            if r.__class__ is IO:
                return r
        if self._nrunning > 1:
            # Other statements of this connection are still reading: keep a snapshot for them.
            return self._keep_reading()
        self._end_read()
        return None

    def set_autocommit(self, on, rollback=False, concurrent=False):
        """Re-entrant: OP_AutoCommit for BEGIN (on=False; ``concurrent`` for BEGIN CONCURRENT),
        COMMIT/END, and ROLLBACK (rollback=True)."""
        if not on:
            if not self.autocommit:
                raise OperationalError("cannot start a transaction within a transaction")
            if concurrent:
                if not mvcc_enabled(self):
                    raise OperationalError(NOT_ENABLED_MESSAGE)
                self._concurrent = True
            self.autocommit = False
            return None
        if self.autocommit:
            if rollback:
                raise OperationalError("cannot rollback - no transaction is active")
            raise OperationalError("cannot commit - no transaction is active")
        if not rollback and self.fk_deferred > 0:
            raise IntegrityError("FOREIGN KEY constraint failed", SQLITE_CONSTRAINT_FOREIGNKEY)
        if self._write_tx:
            if rollback:
                self._rollback_pager()
            else:
                try:
                    r = self._commit_pager()
                except OperationalError:
                    if self.mvcc_tx is None or not self.mvcc_tx.concurrent:
                        raise
                    # A write-write conflict at COMMIT ends the transaction, as in Turso.
                    self._rollback_pager()
                    self._write_tx = False
                    self._end_read()
                    self.autocommit = True
                    self._transaction_ended()
                    raise
                if r.__class__ is IO:
                    return r
                self._committed()
            self._write_tx = False
        if len(self.dbs) > 2 or self.dbs[1] is not None:
            r = end_aux(self, not rollback)
            if r.__class__ is IO:
                return r
        if self._nrunning > 1:
            r = self._keep_reading()
            if r.__class__ is IO:
                return r
        else:
            self._end_read()
        self.autocommit = True
        self._transaction_ended()
        return None

    def reload_schema(self):
        """Re-entrant: read sqlite_schema again (OP_ParseSchema, after DDL)."""
        if self._write_tx:
            if self._concurrent:
                raise OperationalError(DDL_MESSAGE)
            self._schema_changed_in_tx = True
        self._schema_stale = True
        return self._load_schema()

    def refresh_schema(self):
        """Re-entrant: make ``schema`` match the database (reloading it if another connection changed it)."""
        r = self.begin(False)
        if r.__class__ is IO:
            return r
        if self.autocommit and self._nrunning == 0:
            self._end_read()
        for inner in self.dbs[1:]:
            if inner is not None and inner._schema_stale:
                # A rollback undid DDL of a temp or attached database: its schema too.
                r = inner.refresh_schema()
                if r.__class__ is IO:
                    return r
                self.schema_generation += 1
                self._clear_cache()
        return None

    # ------------------------------------------------------------ statement bookkeeping

    def statement_started(self):
        """A Statement began an execution (its first step)."""
        self._nrunning += 1

    def statement_ended(self, ok):
        """A Statement's execution ended: finished, failed, or reset before its end.

        In autocommit mode a write the VM did not finish (it raised, or was
        reset midway) is rolled back; the last running statement ends the read
        transaction, and clears a pending interrupt.
        """
        self._nrunning -= 1
        if self.autocommit and self._write_tx and not ok:
            self._rollback_pager()
            self._write_tx = False
        if self.autocommit and not ok and (len(self.dbs) > 2 or self.dbs[1] is not None):
            rollback_aux(self)
        if self._nrunning == 0:
            self.interrupted = False
            if self.autocommit:
                self._end_read()
                if len(self.dbs) > 2 or self.dbs[1] is not None:
                    end_aux_reads(self)

    def interrupt(self):
        """Make running statements fail with "interrupted" at their next step."""
        if self._nrunning:
            self.interrupted = True

    # ------------------------------------------------------------ user functions and collations

    def create_function(self, name, narg, fn, deterministic=False):
        if fn is None:
            self.functions.remove(name, narg)
        else:
            self.functions.create_function(name, narg, fn, deterministic)
        self._clear_cache()

    def create_aggregate(self, name, narg, cls):
        if cls is None:
            self.functions.remove(name, narg)
        else:
            self.functions.create_aggregate(name, narg, cls)
        self._clear_cache()

    def create_window_function(self, name, narg, cls):
        """Register (or with ``cls=None`` remove) a class with step/inverse/value/finalize."""
        from limbodb.functions.window import create_window_function
        create_window_function(self.functions, name, narg, cls)
        self._clear_cache()

    def create_collation(self, name, fn):
        """Register (or with ``fn=None`` remove) a collation ``fn(str, str) -> int``."""
        key = name.upper()
        if fn is None:
            self.collations.pop(key, None)
            record.COLLATIONS.pop(key, None)
        else:
            self.collations[key] = fn
            record.COLLATIONS[key] = fn
        self._clear_cache()

    # ------------------------------------------------------------ internals

    def _disk_cookie(self):
        if not self.pager.db_size:
            return 0
        return self.pager.header_field("schema_cookie")

    def _load_schema(self):
        """Re-entrant: read every row of sqlite_schema (root page 1) into a new Schema."""
        st = self._schema_load
        if st is None:
            if not self.pager.db_size:
                self._install_schema(Schema(0))
                return None
            st = self._schema_load = _SchemaLoad(BTreeCursor(self.pager, 1))
        try:
            r = self._read_schema_rows(st)
            if r.__class__ is IO:
                return r
            schema = Schema.from_rows(st.rows, self._disk_cookie())
        except BaseException:
            # A failed load starts over next time instead of resuming a broken cursor.
            self._schema_load = None
            raise
        self._schema_load = None
        self._install_schema(schema)
        return None

    def _read_schema_rows(self, st):
        """Re-entrant: append the remaining sqlite_schema rows to ``st.rows``."""
        cur = st.cursor
        while True:
            phase = st.phase
            if phase == _LOAD_FIRST or phase == _LOAD_NEXT:
                r = cur.first() if phase == _LOAD_FIRST else cur.next()
                if r.__class__ is IO:
                    return r
                if not r:
                    return None
                st.phase = _LOAD_READ
            rec = cur.record()
            if rec.__class__ is IO:
                return rec
            st.rows.append(tuple(rec.column(i) for i in _SCHEMA_COLUMNS))
            st.phase = _LOAD_NEXT

    def _install_schema(self, schema):
        if self.db_index:
            schema.set_db(self.db_index)
        self.schema = schema
        self._schema_stale = False
        self.schema_generation += 1
        self._clear_cache()

    def _clear_cache(self):
        self._cache.clear()
        self._idle_vms.clear()

    def _commit_pager(self):
        """Re-entrant: commit the write transaction (through mvcc.py on an MVCC database)."""
        tx = self.mvcc_tx
        if tx is None:
            return self.pager.commit()
        if self._schema_changed_in_tx:
            tx.unlogged = True
        return tx.commit()

    def _release_mvcc(self):
        tx = self.mvcc_tx
        if tx is not None:
            self.mvcc_tx = None
            tx.state.release(tx)

    def _transaction_ended(self):
        self._concurrent = False
        self._release_mvcc()
        self.savepoints.clear()
        self.fk_deferred = 0
        self.defer_foreign_keys = 0

    def _committed(self):
        # Pager.commit ends the pager's whole transaction, the snapshot included.
        self._read_tx = False
        self.cdc_txn_id = None
        self._schema_changed_in_tx = False
        self._release_mvcc()

    def _keep_reading(self):
        """Re-entrant: take a fresh snapshot if the transaction ended under running statements."""
        if not self._read_tx:
            r = self.pager.begin_read_tx()
            if r.__class__ is IO:
                return r
            self._read_tx = True
        return None

    def _rollback_pager(self):
        self._release_mvcc()
        self.pager.rollback()
        self._read_tx = False
        self.cdc_txn_id = None
        if self._schema_changed_in_tx:
            # The in-memory schema shows DDL that was just undone.
            self._schema_changed_in_tx = False
            self._schema_stale = True

    def _end_read(self):
        if self._read_tx:
            self._read_tx = False
            self.pager.end_read_tx()
