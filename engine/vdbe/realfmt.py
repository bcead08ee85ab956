"""SQLite 3.40's text <-> REAL conversions, reproduced bit for bit.

SQLite parses numbers with its own sqlite3AtoF and renders them with its own
printf, both computing in x87 80-bit ``long double``; neither is correctly
rounded, so Python's float() and '%g' disagree with SQLite on a few values in
a thousand. This module emulates those long double steps exactly with
``Fraction`` arithmetic rounded to a 64-bit significand. Fast paths: a parse
without a decimal exponent is one exact conversion, and str_of_real uses
Python's '%.15g' unless the digits after the 15th lie near a rounding tie,
the only place the two can differ. Mirrors sqlite src/util.c (sqlite3AtoF,
sqlite3Pow10) and src/printf.c (etFLOAT/etEXP/etGENERIC, et_getdigit).
"""

import math
import struct
from fractions import Fraction

_F0 = Fraction(0)
_F1 = Fraction(1)
_F10 = Fraction(10)
_E100 = Fraction(1e100)
_E10 = Fraction(1e10)
_EM8 = Fraction(1e-8)
_E8 = Fraction(1e8)
_TENTH = Fraction(0.1)
_EM10 = Fraction(1.0e-10)
_THREE_EM16 = Fraction(3e-16)
_AR_ROUND = [Fraction(x) for x in (5.0e-01, 5.0e-02, 5.0e-03, 5.0e-04, 5.0e-05,
                                   5.0e-06, 5.0e-07, 5.0e-08, 5.0e-09, 5.0e-10)]
_TWO63 = 1 << 63
_TWO64 = 1 << 64
_MAX_DOUBLE = Fraction(1.7976931348623157e308)
_DOUBLE = struct.Struct("<d")
_U64 = struct.Struct("<Q")


def _ld(x):
    """Round a Fraction to the nearest x87 long double (64-bit significand, ties to even)."""
    n = x.numerator
    if n == 0:
        return _F0
    d = x.denominator
    neg = n < 0
    if neg:
        n = -n
    k = 64 - (n.bit_length() - d.bit_length())
    while True:
        if k >= 0:
            q, r = divmod(n << k, d)
            den = d
        else:
            den = d << -k
            q, r = divmod(n, den)
        if q >= _TWO64:
            k -= 1
        elif q < _TWO63:
            k += 1
        else:
            break
    r2 = r * 2
    if r2 > den or (r2 == den and q & 1):
        q += 1
    v = Fraction(q, 1 << k) if k >= 0 else Fraction(q << -k)
    return -v if neg else v


def _to_double(x):
    """Round a Fraction to the nearest double (inf when out of range)."""
    if abs(x) > _MAX_DOUBLE:
        # Round-to-nearest only overflows past MAX + half an ulp.
        try:
            return float(x)
        except OverflowError:
            return float("-inf") if x < 0 else float("inf")
    return float(x)


def atof_value(sign, s, e):
    """The double sqlite3AtoF computes from significand ``s`` (< 2**63), decimal exponent ``e``, sign."""
    if s == 0:
        return -0.0 if sign < 0 else 0.0
    esign = 1
    if e < 0:
        esign = -1
        e = -e
    while e > 0:
        if esign > 0:
            if s >= 922337203685477580:
                break
            s *= 10
        else:
            if s % 10 != 0:
                break
            s //= 10
        e -= 1
    if sign < 0:
        s = -s
    if e == 0:
        return float(s)
    if e <= 27:
        # 10**e is exact in a long double, so only the final division or
        # product rounds: do it in integers (to 64 bits, then to 53).
        neg = s < 0
        r = _ld_quotient(-s if neg else s, 1, e) if esign > 0 else _ld_quotient(-s if neg else s, 10 ** e, 0)
        return -r if neg else r
    fs = Fraction(s)
    if e > 307:
        if e >= 342:
            return (-0.0 if s < 0 else 0.0) if esign < 0 else (float("-inf") if s < 0 else float("inf"))
        scale = _pow10(e - 308)
        # ``result`` is a C double: the second step is a plain double operation.
        if esign < 0:
            return _to_double(_ld(fs / scale)) / 1.0e308
        return _to_double(_ld(fs * scale)) * 1.0e308
    scale = _pow10(e)
    return _to_double(_ld(fs / scale) if esign < 0 else _ld(fs * scale))


def _ld_quotient(n, d, e):
    """(n * 10**e) / d rounded to a long double, then to a double (n, d > 0)."""
    n *= 10 ** e
    k = 64 - (n.bit_length() - d.bit_length())
    while True:
        if k >= 0:
            q, r = divmod(n << k, d)
            den = d
        else:
            den = d << -k
            q, r = divmod(n, den)
        if q >= _TWO64:
            k -= 1
        elif q < _TWO63:
            k += 1
        else:
            break
    r2 = r * 2
    if r2 > den or (r2 == den and q & 1):
        q += 1
    # float(q) rounds the 64-bit significand to 53 bits; the scaling is exact.
    return math.ldexp(float(q), -k)


def _pow10(e):
    """sqlite3Pow10: 10**e by repeated squaring in long double."""
    x = _F10
    r = _F1
    while True:
        if e & 1:
            r = _ld(r * x)
        e >>= 1
        if e == 0:
            return r
        x = _ld(x * x)


def _getdigit(val, cnt):
    if cnt[0] <= 0:
        return "0", val
    cnt[0] -= 1
    digit = int(val)
    return chr(48 + digit), _ld((val - digit) * _F10)


def format_float(value, xtype, precision, flag_alt, flag_alt2, prefix):
    """SQLite's conversion of a double for %f ('f'), %e ('e') or %g ('g'), before padding.

    Returns the digits with sign, decimal point and exponent as sqlite3_str_vappendf
    builds them. ``prefix`` is '' or the '+'/' ' flag character.
    """
    if value != value:
        return "NaN"
    if value < 0.0:
        value = -value
        prefix = "-"
    if xtype == "g" and precision > 0:
        precision -= 1
    idx = precision & 0xFFF
    rounder = _AR_ROUND[idx % 10]
    while idx >= 10:
        rounder = _store_double(rounder * _EM10)
        idx -= 10
    if value == float("inf"):
        return prefix + "Inf"
    real = Fraction(value)
    if xtype == "f":
        ex = ((_U64.unpack(_DOUBLE.pack(value))[0] >> 52) & 0x7FF) - 1023
        if precision + int(ex / 3) < 15:
            rounder = _store_double(rounder + _ld(real * _THREE_EM16))
        real = _ld(real + rounder)
    exp = 0
    if real > 0:
        scale = _F1
        while real >= _ld(_E100 * scale) and exp <= 350:
            scale = _ld(scale * _E100)
            exp += 100
        while real >= _ld(_E10 * scale) and exp <= 350:
            scale = _ld(scale * _E10)
            exp += 10
        while real >= _ld(_F10 * scale) and exp <= 350:
            scale = _ld(scale * _F10)
            exp += 1
        real = _ld(real / scale)
        while real < _EM8:
            real = _ld(real * _E8)
            exp -= 8
        while real < _F1:
            real = _ld(real * _F10)
            exp -= 1
        if exp > 350:
            return prefix + "Inf"
    if xtype != "f":
        real = _ld(real + rounder)
        if real >= _F10:
            real = _ld(real * _TENTH)
            exp += 1
    if xtype == "g":
        flag_rtz = not flag_alt
        if exp < -4 or exp > precision:
            xtype = "e"
        else:
            precision -= exp
            xtype = "f"
    else:
        flag_rtz = flag_alt2
    e2 = 0 if xtype == "e" else exp
    cnt = [16 + 10 * flag_alt2]
    flag_dp = precision > 0 or flag_alt or flag_alt2
    out = [prefix]
    if e2 < 0:
        out.append("0")
    else:
        while e2 >= 0:
            ch, real = _getdigit(real, cnt)
            out.append(ch)
            e2 -= 1
    if flag_dp:
        out.append(".")
    e2 += 1
    while e2 < 0:
        out.append("0")
        precision -= 1
        e2 += 1
    while precision > 0:
        ch, real = _getdigit(real, cnt)
        out.append(ch)
        precision -= 1
    text = "".join(out)
    if flag_rtz and flag_dp:
        text = text.rstrip("0")
        if text.endswith("."):
            text = text + "0" if flag_alt2 else text[:-1]
    if xtype == "e":
        sign = "+"
        if exp < 0:
            sign = "-"
            exp = -exp
        text += "e" + sign + ("%02d" % exp)
    return text


def _store_double(x):
    """Store a long double result into a C ``double`` variable."""
    return Fraction(_to_double(x))


def str_of_real(f):
    """Render a REAL as SQLite renders it as text ("%!.15g"): 1.0 -> '1.0', 1e20 -> '1.0e+20'."""
    if f != f:
        return "NaN"
    a = -f if f < 0 else f
    if a == float("inf"):
        return "-Inf" if f < 0 else "Inf"
    if a == 0.0:
        return "0.0"
    # Only a value whose digits after the 15th sit near a rounding tie can come out
    # differently from SQLite's long double arithmetic; emulate those exactly.
    tail = ("%.20e" % a)[16:22]
    if "350000" < tail < "650000":
        return format_float(f, "g", 15, False, True, "")
    s = "%.15g" % f
    mant, sep, ex = s.partition("e")
    if "." not in mant:
        mant += ".0"
    if sep:
        return f"{mant}e{ex[0]}{ex[1:].rjust(2, '0')}"
    return mant
