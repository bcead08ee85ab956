"""Statement: one prepared SQL statement of a Connection, wrapping a Program's VM.

Owns parameter binding (sqlite3's rules and messages: counts, names, the
accepted Python types, 64-bit range), the step protocol (ROW | DONE | IO |
BUSY; on IO ``stmt.completion`` is what to wait for and the next ``step()``
resumes), and telling the connection when an execution starts and ends so
autocommit transactions close when the last active statement does.
A statement built for an older schema is re-translated before its first step.
Mirrors sqlite src/vdbeapi.c (sqlite3_step, sqlite3_bind_*) and Turso
core/lib.rs (Statement).
"""

from limbodb.errors import Error, InterfaceError, OperationalError, ProgrammingError, SQLITE_RANGE, SQLITE_SCHEMA
from limbodb.vdbe.program import BUSY, DONE, IO, ROW

__all__ = ["Statement", "ROW", "DONE", "IO", "BUSY"]

_MIN_INT64 = -(1 << 63)
_MAX_INT64 = (1 << 63) - 1

# Statement states.
_IDLE = 0
_RUNNING = 1
_FINALIZED = 2

# A statement whose schema keeps changing under it gives up after this many re-translations
# (SQLite's SQLITE_MAX_SCHEMA_RETRY).
_MAX_SCHEMA_RETRY = 50


def check_value(value, index):
    """The SQL value for Python ``value`` bound as parameter ``index`` (1-based or a name).

    Raises what CPython's sqlite3 raises: OverflowError for ints outside 64 bits,
    ProgrammingError for unsupported types.
    """
    cls = value.__class__
    if value is None or cls is str or cls is float or cls is bytes:
        return value
    if cls is int:
        if _MIN_INT64 <= value <= _MAX_INT64:
            return value
        raise OverflowError("Python int too large to convert to SQLite INTEGER")
    if isinstance(value, int):  # bool and other int subclasses bind as their integer value
        return check_value(int(value), index)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ProgrammingError(f"Error binding parameter {index}: type '{cls.__name__}' is not supported")


class Statement:
    """A prepared statement (contracts.md §7)."""

    __slots__ = ("conn", "sql", "program", "vm", "completion", "_state", "_generation", "_bound")

    def __init__(self, conn, program, sql, generation):
        self.conn = conn
        self.sql = sql
        self.program = program
        self.vm = program.new_vm(conn)
        self.completion = None
        self._state = _IDLE
        self._generation = generation
        # Values bound so far, re-applied if the statement is re-translated.
        self._bound = {}

    @property
    def parameter_count(self):
        return self.program.param_count

    def parameter_name(self, i):
        """The name of parameter ``i`` (1-based) with its prefix (":x"), or None for "?"."""
        return self.program.param_names.get(i)

    @property
    def column_names(self):
        return self.program.column_names

    @property
    def column_decltypes(self):
        return self.program.column_decltypes

    @property
    def readonly(self):
        return self.program.readonly

    def bind_value(self, i, value):
        """Bind one already-checked SQL value to parameter ``i`` (1-based)."""
        if not 1 <= i <= self.program.param_count:
            raise InterfaceError("column index out of range", SQLITE_RANGE)
        self._bound[i] = value
        self.vm.bind(i, value)

    def bind(self, params):
        """Bind a sequence (by position) or a mapping (by name), as sqlite3 does."""
        n = self.program.param_count
        if isinstance(params, dict):
            names = self.program.param_names
            for i in range(1, n + 1):
                name = names.get(i)
                if name is None:
                    raise ProgrammingError(
                        f"Binding {i} has no name, but you supplied a dictionary (which has only names).")
                try:
                    value = params[name[1:]]
                except KeyError:
                    raise ProgrammingError(f"You did not supply a value for binding parameter {name}.") from None
                self.bind_value(i, check_value(value, name))
            return
        if isinstance(params, (str, bytes, bytearray)) or not hasattr(params, "__len__") \
                or not hasattr(params, "__getitem__"):
            raise ProgrammingError("parameters are of unsupported type")
        supplied = len(params)
        if supplied != n:
            raise ProgrammingError(f"Incorrect number of bindings supplied. The current statement uses {n}, "
                                   f"and there are {supplied} supplied.")
        for i in range(n):
            self.bind_value(i + 1, check_value(params[i], i + 1))

    def clear_bindings(self):
        for i in range(1, self.program.param_count + 1):
            self.vm.bind(i, None)
        self._bound.clear()

    def step(self):
        """ROW, DONE, IO (wait on ``self.completion``, then call again) or BUSY.

        Re-entrant: after IO the VM resumes at the instruction that waited.
        """
        state = self._state
        if state != _RUNNING:
            if state == _FINALIZED:
                raise ProgrammingError("Cannot operate on a finalized statement.")
            if self._generation != self.conn.schema_generation:
                self._retranslate()
            self._state = _RUNNING
            self.conn.statement_started()
        try:
            r = self.vm.step()
        except Error as e:
            self._state = _IDLE
            self.conn.statement_ended(False)
            if e.sqlite_errorcode & 0xFF == SQLITE_SCHEMA and self.vm.row is None:
                return self._retry_after_schema_change(e)
            raise
        if r == ROW:
            return r
        if r == IO:
            self.completion = self.vm.completion
            return r
        if r == DONE:
            self._state = _IDLE
            self.conn.statement_ended(True)
        return r

    def _retry_after_schema_change(self, err):
        """Re-translate against the new schema and step again (sqlite3_prepare_v2 semantics)."""
        for _ in range(_MAX_SCHEMA_RETRY):
            self._retranslate()
            try:
                return self.step()
            except Error as e:
                if e.sqlite_errorcode & 0xFF != SQLITE_SCHEMA:
                    raise
                err = e
        raise err

    def _retranslate(self):
        conn = self.conn
        program = conn.compile(self.sql)
        if program.param_count != self.program.param_count:
            raise OperationalError("schema changed and the statement could not be re-prepared", SQLITE_SCHEMA)
        self.program = program
        vm = self.vm = program.new_vm(conn)
        for i, value in self._bound.items():
            vm.bind(i, value)
        self._generation = conn.schema_generation

    def row(self):
        """The current row as a tuple (valid after step() returned ROW)."""
        return self.vm.row

    @property
    def changes(self):
        return self.vm.changes

    def reset(self):
        """Stop the current execution (if any) so the statement can run again; bindings are kept."""
        self.vm.reset()
        self.completion = None
        if self._state == _RUNNING:
            self._state = _IDLE
            self.conn.statement_ended(False)

    def finalize(self):
        if self._state != _FINALIZED:
            self.reset()
            self._state = _FINALIZED

    @property
    def finalized(self):
        return self._state == _FINALIZED

    @property
    def running(self):
        return self._state == _RUNNING
