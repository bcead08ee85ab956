"""The SQL function registry: built-in and user scalar and aggregate functions.

Owns ``FuncDef``, ``FunctionRegistry`` and ``FUNCTIONS`` (the built-ins, shared
read-only; each connection works on ``FUNCTIONS.copy()`` and adds its user
functions there). Keys are ``(lowercased name, nargs)``; ``nargs == -1`` is a
variadic entry, used only when no exact arity matches (sqlite3FindFunction).

Calling conventions (the VM's side of the contract):
- Scalar (``kind == SCALAR``): ``fd.fn(*args)`` with Python values (None, int,
  float, str, bytes); returns one such value. When ``fd.needs_context`` the VM
  passes the connection first: ``fd.fn(conn, *args)``; such functions read
  ``conn.last_insert_rowid``, ``conn.changes``, ``conn.total_changes`` and the
  clock ``conn.functions.now()`` (unix seconds as float; a connection or test
  replaces ``registry.now`` to freeze time).
- Aggregate (``kind == AGGREGATE``): ``acc = fd.fn()`` once per group, then
  ``acc.step(*args)`` per row and ``acc.finalize()`` for the result. Built-ins
  that can serve as window functions also have ``acc.inverse(*args)`` (undo a
  step) and ``acc.value()`` (current result, state kept). DISTINCT aggregates
  (``count(DISTINCT x)``) are the VM's job: it filters repeated argument
  tuples (an ephemeral index) before calling ``step``; count(*) is
  ``("count", 0)``.
  min/max ``step`` returns True when the row became the chosen one (load the
  bare columns then); ``Min(collation)``/``Max(collation)`` take an optional
  text comparison function.
- Window-only (``kind == window.WINDOW``, 2): row_number, rank, ...; see
  functions/window.py. An aggregate serves as a window function when it has
  ``value()`` (sqlite3 create_aggregate classes do not, as in SQLite).
- Errors are raised as ``limbodb.errors`` exceptions (e.g. sum's "integer
  overflow" OperationalError). ``fd.deterministic`` tells the code generator
  whether a call with constant arguments may be folded or used in an index.
  ``lookup`` raises SQLite's "no such function: f" and "wrong number of
  arguments to function f()" (a variadic entry may set ``min_args``).
- The operators ``X -> P`` and ``X ->> P`` are the entries ("->", 2) and
  ("->>", 2). ``coalesce``, ``ifnull``, ``iif``, ``likely``, ``unlikely`` and
  ``likelihood`` are plain functions here; the code generator may inline them
  with short-circuit jumps as SQLite does.
Modules: scalar, aggregate, printf, datetime, math, json, window, cdc.
"""

import time

from limbodb.errors import OperationalError

SCALAR = 0
AGGREGATE = 1


class FuncDef:
    """One registered function: what the code generator and the VM need to call it."""

    __slots__ = ("name", "nargs", "fn", "kind", "deterministic", "needs_context", "min_args")

    def __init__(self, name, nargs, fn, kind=SCALAR, deterministic=True, needs_context=False):
        self.name = name
        self.nargs = nargs
        self.fn = fn
        self.kind = kind
        self.deterministic = deterministic
        self.needs_context = needs_context
        # Fewest arguments a variadic entry accepts (coalesce needs 2).
        self.min_args = 0

    def __repr__(self):
        kind = "aggregate" if self.kind == AGGREGATE else "scalar"
        return f"<FuncDef {self.name}/{self.nargs} {kind}>"


class FunctionRegistry:
    """Functions by (lowercased name, nargs); a connection copies the built-ins and extends them."""

    __slots__ = ("defs", "now")

    def __init__(self, defs=None, now=time.time):
        self.defs = dict(defs) if defs else {}
        self.now = now

    def copy(self):
        """A registry with the same entries that can be extended independently."""
        return FunctionRegistry(self.defs, self.now)

    def register(self, name, nargs, fn, kind=SCALAR, deterministic=True, needs_context=False):
        """Add or replace the entry for (name, nargs); returns the FuncDef."""
        key = (name.lower(), nargs)
        fd = FuncDef(key[0], nargs, fn, kind, deterministic, needs_context)
        self.defs[key] = fd
        return fd

    def get(self, name, nargs):
        """The FuncDef called by ``name(nargs args)``, or None."""
        defs = self.defs
        name = name.lower()
        fd = defs.get((name, nargs))
        if fd is None:
            fd = defs.get((name, -1))
            if fd is not None and nargs < fd.min_args:
                return None
        return fd

    def lookup(self, name, nargs):
        """Like get(), but raises SQLite's errors when there is no match."""
        fd = self.get(name, nargs)
        if fd is not None:
            return fd
        lname = name.lower()
        if any(key[0] == lname for key in self.defs):
            raise OperationalError(f"wrong number of arguments to function {name}()")
        raise OperationalError(f"no such function: {name}")

    def create_function(self, name, nargs, fn, deterministic=False):
        """Register a user scalar function with the sqlite3 module's error behaviour."""
        return self.register(name, nargs, _user_scalar(fn), SCALAR, deterministic)

    def create_aggregate(self, name, nargs, cls):
        """Register a user aggregate class (``step``/``finalize``) as sqlite3 does."""
        return self.register(name, nargs, _user_aggregate(cls), AGGREGATE, False)

    def remove(self, name, nargs):
        """Drop a user function (sqlite3: create_function(name, n, None))."""
        self.defs.pop((name.lower(), nargs), None)


def _adapt_result(v):
    """Convert a user function's return value as the sqlite3 module does."""
    cls = v.__class__
    if v is None or cls is int or cls is float or cls is str or cls is bytes:
        if cls is int and not -0x8000000000000000 <= v <= 0x7FFFFFFFFFFFFFFF:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return v
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    raise TypeError(f"unsupported return type {cls.__name__}")


def _user_scalar(fn):
    def call(*args):
        try:
            return _adapt_result(fn(*args))
        except Exception as e:
            raise OperationalError("user-defined function raised exception") from e
    call.__name__ = getattr(fn, "__name__", "user_function")
    return call


def _user_aggregate(cls):
    class UserAggregate:
        __slots__ = ("inst", "error")

        def __init__(self):
            self.error = None
            try:
                self.inst = cls()
            except Exception as e:
                self.inst = None
                self.error = e

        def step(self, *args):
            if self.error is not None:
                raise OperationalError("user-defined aggregate's '__init__' method raised error") from self.error
            try:
                self.inst.step(*args)
            except Exception as e:
                raise OperationalError("user-defined aggregate's 'step' method raised error") from e

        def finalize(self):
            if self.error is not None:
                raise OperationalError("user-defined aggregate's '__init__' method raised error") from self.error
            try:
                return _adapt_result(self.inst.finalize())
            except Exception as e:
                raise OperationalError("user-defined aggregate's 'finalize' method raised error") from e
    return UserAggregate


FUNCTIONS = FunctionRegistry()


def _register_builtins():
    # Imported here, after SCALAR/AGGREGATE exist: the function modules import them
    # from this package (and limbodb.vdbe.value, whose package may be mid-import).
    from limbodb.functions import aggregate, cdc, datetime, json, math, printf, scalar, window
    for module in (scalar, aggregate, printf, datetime, math, json, window, cdc):
        module.register_all(FUNCTIONS)


_register_builtins()
