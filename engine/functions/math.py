"""SQLite's math functions (SQLITE_ENABLE_MATH_FUNCTIONS): ceil, floor, trunc, ln, log, pow, sin, ...

Arguments must be numbers or text that is wholly a number, else the result is
NULL; results are REAL (ceil/floor/trunc keep an INTEGER argument). C's libm
returns NaN or infinity where Python's ``math`` raises: NaN becomes NULL and
overflow becomes infinity, as in SQLite.
Mirrors sqlite src/func.c (math1Func, math2Func, logFunc, ceilingFunc).
"""

import math

from limbodb.vdbe.value import AFF_NUMERIC, apply_compare_affinity, real_value

_INF = float("inf")


def _number(v):
    """The value as a number (sqlite3_value_numeric_type), or None if it is not one."""
    cls = v.__class__
    if cls is int or cls is float:
        return v
    if cls is str:
        n = apply_compare_affinity(v, AFF_NUMERIC)
        if n.__class__ is not str:
            return n
    return None


def _libm1(fn, overflow_sign=None):
    """Wrap a math function to behave like its libm counterpart on bad input."""
    def call(x):
        try:
            return fn(x)
        except OverflowError:
            if overflow_sign is None:
                return _INF
            return math.copysign(_INF, overflow_sign(x))
        except ValueError:
            return None
    return call


def _math1(fn):
    def sql(v):
        n = _number(v)
        if n is None:
            return None
        r = fn(float(n))
        return None if r is None or r != r else r
    return sql


def _rounding(fn):
    def sql(v):
        n = _number(v)
        if n is None:
            return None
        if n.__class__ is int:
            return n
        if n != n or n in (_INF, -_INF):
            return n
        return float(fn(n))
    return sql


def _atanh(x):
    # libm's pole: atanh(+-1) is +-infinity, where Python raises.
    if x == 1.0 or x == -1.0:
        return math.copysign(_INF, x)
    try:
        return math.atanh(x)
    except ValueError:
        return None


def _c_pow(x, y):
    try:
        r = math.pow(x, y)
    except OverflowError:
        neg = x < 0 and float(y).is_integer() and int(y) % 2 == 1
        return -_INF if neg else _INF
    except ValueError:
        if x == 0.0 and y < 0:
            odd = float(y).is_integer() and int(y) % 2 == 1
            return math.copysign(_INF, x) if odd else _INF
        return None
    return r


def _c_fmod(x, y):
    try:
        return math.fmod(x, y)
    except ValueError:
        return None


def _math2(fn):
    def sql(a, b):
        x = _number(a)
        y = _number(b)
        if x is None or y is None:
            return None
        r = fn(float(x), float(y))
        return None if r is None or r != r else r
    return sql


def _log(which):
    def sql(*args):
        x = _number(args[0])
        if x is None:
            return None
        x = float(x)
        if x <= 0.0:
            return None
        if len(args) == 2:
            base = math.log(x)
            if base <= 0.0:
                return None
            # SQLite 3.40 type-checks the first argument twice and reads the second as a
            # plain double (so log(2, x'32') is 1.0 and log(2, 'abc') is NULL).
            y = real_value(args[1])
            if y <= 0.0:
                return None
            r = math.log(y) / base
        else:
            r = which(x)
        return None if r != r else r
    return sql


def pi():
    return math.pi


def register_all(reg):
    """Add the math functions."""
    r = reg.register
    for name, fn in (("ceil", math.ceil), ("ceiling", math.ceil), ("floor", math.floor), ("trunc", math.trunc)):
        r(name, 1, _rounding(fn))
    r("ln", 1, _log(math.log))
    r("log", 1, _log(math.log10))
    r("log10", 1, _log(math.log10))
    r("log2", 1, _log(math.log2))
    r("log", 2, _log(math.log))
    r("exp", 1, _math1(_libm1(math.exp)))
    r("pow", 2, _math2(_c_pow))
    r("power", 2, _math2(_c_pow))
    r("mod", 2, _math2(_c_fmod))
    r("atan2", 2, _math2(math.atan2))
    for name in ("acos", "asin", "atan", "cos", "sin", "tan", "tanh", "sqrt", "acosh", "asinh"):
        r(name, 1, _math1(_libm1(getattr(math, name))))
    r("atanh", 1, _math1(_atanh))
    r("cosh", 1, _math1(_libm1(math.cosh)))
    r("sinh", 1, _math1(_libm1(math.sinh, overflow_sign=lambda x: x)))
    r("degrees", 1, _math1(lambda x: x * (180.0 / math.pi)))
    r("radians", 1, _math1(lambda x: x * (math.pi / 180.0)))
    r("pi", 0, pi)
