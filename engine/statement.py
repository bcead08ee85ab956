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
from limbodb.parser.lexer import scan
from limbodb.parser.tokens import TK_EOF, TK_VARIABLE
from limbodb.vdbe.program import BUSY, DONE, IO, ROW
from limbodb.vdbe.realfmt import str_of_real

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
    """The SQL value for Python ``value`` bound as parameter ``index`` (1-based).

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


def _literal(v):
    if v is None:
        return "NULL"
    if v.__class__ is str:
        return "'" + v.replace("'", "''") + "'"
    if v.__class__ is bytes:
        return "x'" + v.hex() + "'"
    if v.__class__ is float:
        return str_of_real(v)
    return str(v)


class Statement:
    """A prepared statement (contracts.md §7)."""

    __slots__ = ("conn", "sql", "program", "vm", "completion", "_state", "_generation")

    def __init__(self, conn, program, sql, generation, vm=None):
        self.conn = conn
        self.sql = sql
        self.program = program
        # ``vm``: an idle VM of ``program`` the connection kept from a finalized statement.
        self.vm = vm if vm is not None else program.new_vm(conn)
        self.completion = None
        self._state = _IDLE
        self._generation = generation

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
        self.vm.params[i] = value

    def bind_plain(self, params, plain):
        """bind() of a tuple whose values all have a class in ``plain`` (those no adapter
        applies to), in one pass; False if one has another class or the count is wrong
        (bind() then reports it), with some parameters perhaps already set."""
        n = self.program.param_count
        if len(params) != n:
            return False
        slots = self.vm.params
        for v in params:
            c = v.__class__
            if not (c is str or c is float or v is None or (c is int and _MIN_INT64 <= v <= _MAX_INT64)):
                break
        else:
            # Every value binds as it is (the usual row of executemany): one slice copy.
            slots[1:] = params
            return True
        for i in range(n):
            v = params[i]
            c = v.__class__
            if c not in plain:
                return False
            if c is str or c is float or v is None or (c is int and _MIN_INT64 <= v <= _MAX_INT64):
                slots[i + 1] = v
            else:
                slots[i + 1] = check_value(v, i + 1)
        return True

    def bind(self, params):
        """Bind a sequence (by position) or a dict (by name), as sqlite3 does."""
        n = self.program.param_count
        if params.__class__ is tuple or params.__class__ is list \
                or (not isinstance(params, dict) and hasattr(params, "__getitem__") and hasattr(params, "__len__")):
            supplied = len(params)
            if supplied != n:
                raise ProgrammingError(f"Incorrect number of bindings supplied. The current statement uses {n}, "
                                       f"and there are {supplied} supplied.")
            slots = self.vm.params
            for i in range(n):
                v = params[i]
                c = v.__class__
                # check_value's common cases inline: this runs for every parameter of every execution.
                if c is str or c is float or v is None or (c is int and _MIN_INT64 <= v <= _MAX_INT64):
                    slots[i + 1] = v
                else:
                    slots[i + 1] = check_value(v, i + 1)
            return
        if not isinstance(params, dict):
            raise ProgrammingError("parameters are of unsupported type")
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
            self.vm.params[i] = check_value(value, i)

    def step(self):
        """ROW, DONE, IO (wait on ``self.completion``, then call again) or BUSY.

        Re-entrant: after IO the VM resumes at the instruction that waited. A
        program built for an older schema (SQLITE_SCHEMA from OP_Transaction,
        before any row) is translated again and restarted, as sqlite3_step
        does for statements from sqlite3_prepare_v2.
        """
        retries = 0
        while True:
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
                if e.sqlite_errorcode & 0xFF == SQLITE_SCHEMA and self.vm.row is None \
                        and retries < _MAX_SCHEMA_RETRY:
                    retries += 1
                    self._retranslate()
                    continue
                raise
            except BaseException:
                # Not an SQL error (a bug, KeyboardInterrupt): still end the execution cleanly.
                self._state = _IDLE
                self.conn.statement_ended(False)
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

    def _retranslate(self):
        conn = self.conn
        program = conn.compile(self.sql)
        if program.param_count != self.program.param_count:
            raise OperationalError("schema changed and the statement could not be re-prepared", SQLITE_SCHEMA)
        old = self.vm.params
        self.program = program
        self.vm = program.new_vm(conn)
        self.vm.params[:] = old
        self._generation = conn.schema_generation

    def expanded_sql(self):
        """The statement's text with each parameter replaced by its bound value as an SQL
        literal, as sqlite3_expanded_sql gives it (for trace callbacks)."""
        tokens = []
        pos = 0
        sql = self.sql
        while not tokens or tokens[-1][0] != TK_EOF:
            pos = scan(sql, pos, tokens)
        by_name = {name: i for i, name in self.program.param_names.items()}
        out = []
        last = 0
        highest = 0
        for tk, text, start, end in tokens:
            if tk != TK_VARIABLE:
                continue
            if text == "?":
                i = highest + 1
            elif text[0] == "?":
                i = int(text[1:])
            else:
                i = by_name.get(text, highest + 1)
            highest = max(highest, i)
            out.append(sql[last:start])
            params = self.vm.params
            out.append(_literal(params[i] if i < len(params) else None))
            last = end
        out.append(sql[last:])
        return "".join(out)

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
        """Stop and release the statement; its VM goes back to the connection for reuse."""
        if self._state != _FINALIZED:
            self.reset()
            self._state = _FINALIZED
            self.conn.recycle_vm(self.program, self.vm, self._generation)

    @property
    def running(self):
        return self._state == _RUNNING
