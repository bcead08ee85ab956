"""SQLite's printf()/format() SQL function (sqlite3_str_vappendf in SQL-function mode).

Conversions %d %i %u %x %X %o %r %c %s %z %q %Q %w %f %e %E %g %G %n %%, flags
``-+ 0#,!``, width and precision (``*`` takes them from the arguments). Like
SQLite, widths and precisions count UTF-8 bytes unless the '!' flag is given,
missing arguments read as NULL/0, and an unknown conversion ends the output.
The text is built as UTF-8 bytes and decoded once at the end.
Floating-point digits come from ``realfmt.format_float`` (SQLite's long double
algorithm). Mirrors sqlite src/printf.c.
"""

from limbodb.errors import SQLITE_TOOBIG, DataError
from limbodb.vdbe.realfmt import format_float
from limbodb.vdbe.value import c_text, int_value, real_value, to_text

_MAX_LENGTH = 1000000000
_DIGITS_LOWER = "0123456789abcdef"
_DIGITS_UPPER = "0123456789ABCDEF"
# conversion -> (base, signed, upper-case digits, alternate-form prefix)
_RADIX = {
    "d": (10, True, False, ""), "i": (10, True, False, ""), "u": (10, False, False, ""),
    "x": (16, False, False, "0x"), "X": (16, False, True, "0X"), "o": (8, False, False, "0"),
    "r": (10, True, False, ""), "p": (16, False, True, ""),
}


class _Args:
    __slots__ = ("values", "i")

    def __init__(self, values):
        self.values = values
        self.i = 0

    def next(self):
        i = self.i
        if i >= len(self.values):
            return None
        self.i = i + 1
        return self.values[i]

    def int(self):
        v = self.next()
        return 0 if v is None else int_value(v)

    def real(self):
        v = self.next()
        return 0.0 if v is None else real_value(v)

    def text(self):
        v = self.next()
        return None if v is None else to_text(v).encode("utf-8")


def _ordinal_suffix(v):
    u = -v if v < 0 else v
    x = u % 10
    if x >= 4 or (u // 10) % 10 == 1:
        x = 0
    return ("th", "st", "nd", "rd")[x]


def _radix(c, args, precision, width, flag_prefix, flag_alt, flag_zeropad, thousands):
    base, signed, upper, alt_prefix = _RADIX[c]
    v = args.int()
    prefix = ""
    if signed:
        if v < 0:
            u = -v
            prefix = "-"
        else:
            u = v
            prefix = flag_prefix
    else:
        u = v & 0xFFFFFFFFFFFFFFFF
    if u == 0:
        flag_alt = False
    if flag_zeropad and precision < width - (prefix != ""):
        precision = width - (prefix != "")
    digits = _DIGITS_UPPER if upper else _DIGITS_LOWER
    out = []
    while True:
        out.append(digits[u % base])
        u //= base
        if u == 0:
            break
    s = "".join(reversed(out))
    if c == "r":
        # SQLite writes the suffix first, so precision and grouping count it too.
        s += _ordinal_suffix(v)
    if len(s) < precision:
        s = "0" * (precision - len(s)) + s
    if thousands:
        head = len(s) % 3 or 3
        s = s[:head] + "".join("," + s[k:k + 3] for k in range(head, len(s), 3))
    s = prefix + s
    if flag_alt and alt_prefix:
        s = alt_prefix + s
    return s.encode("ascii")


def _utf8_width_adjust(buf, width):
    """With '!', a width counts characters: add one per UTF-8 continuation byte."""
    return width + sum(1 for b in buf if b & 0xC0 == 0x80)


def sql_printf(fmt, *values):
    """printf(FORMAT, ...): NULL when FORMAT is NULL."""
    if fmt is None:
        return None
    f = c_text(to_text(fmt)).encode("utf-8")
    args = _Args(values)
    out = bytearray()
    # SQLite returns NULL when nothing at all was appended ('' or a lone bad conversion).
    touched = False
    n = len(f)
    i = 0
    while i < n:
        j = f.find(b"%", i)
        if j < 0:
            out += f[i:]
            touched = True
            break
        if j > i:
            out += f[i:j]
            touched = True
        i = j + 1
        if i >= n:
            out += b"%"
            touched = True
            break
        flag_left = flag_alt = flag_alt2 = flag_zeropad = False
        flag_prefix = ""
        thousands = False
        width = 0
        precision = -1
        c = ""
        while i < n:
            c = chr(f[i])
            if c == "-":
                flag_left = True
            elif c == "+":
                flag_prefix = "+"
            elif c == " ":
                flag_prefix = " "
            elif c == "#":
                flag_alt = True
            elif c == "!":
                flag_alt2 = True
            elif c == "0":
                flag_zeropad = True
            elif c == ",":
                thousands = True
            else:
                break
            i += 1
        if c == "*":
            width = args.int()
            if width < 0:
                flag_left = True
                width = -width if width >= -2147483647 else 0
            i += 1
        else:
            k = i
            while i < n and 48 <= f[i] <= 57:
                i += 1
            if i > k:
                width = int(f[k:i]) & 0x7FFFFFFF
        if i < n and f[i] == 46:  # '.'
            i += 1
            if i < n and f[i] == 42:  # '*'
                precision = args.int()
                if precision < 0:
                    precision = -precision if precision >= -2147483647 else -1
                i += 1
            else:
                k = i
                while i < n and 48 <= f[i] <= 57:
                    i += 1
                precision = (int(f[k:i]) & 0x7FFFFFFF) if i > k else 0
        # Up to two 'l' length modifiers are accepted and mean nothing here.
        for _ in range(2):
            if i < n and f[i] == 108:
                i += 1
        if i >= n:
            break
        c = chr(f[i])
        i += 1
        if width > _MAX_LENGTH or precision > _MAX_LENGTH:
            raise DataError("string or blob too big", SQLITE_TOOBIG)
        if c in _RADIX:
            if c == "p":
                flag_alt = False
            # Only the decimal conversions group thousands in SQLite 3.40.
            buf = _radix(c, args, precision, width, flag_prefix, flag_alt, flag_zeropad,
                         thousands and c in "diu")
        elif c in "feEgG":
            r = args.real()
            text = format_float(r, c.lower(), 6 if precision < 0 else precision, flag_alt, flag_alt2,
                                flag_prefix)
            if c in "EG":
                text = text.replace("e", "E")
            buf = text.encode("ascii")
            if flag_zeropad and not flag_left and len(buf) < width and "Inf" not in text and text != "NaN":
                pre = 1 if buf[:1] in (b"-", b"+", b" ") else 0
                buf = buf[:pre] + b"0" * (width - len(buf)) + buf[pre:]
        elif c in "sz":
            s = args.text()
            if s is None:
                s = b""
            nul = s.find(b"\x00")
            if nul >= 0:
                s = s[:nul]
            if precision >= 0:
                if flag_alt2:
                    s = s.decode("utf-8", "replace")[:precision].encode("utf-8")
                else:
                    s = s[:precision]
            buf = s
            if flag_alt2:
                width = _utf8_width_adjust(buf, width)
        elif c in "qQw":
            s = args.text()
            q = b'"' if c == "w" else b"'"
            isnull = s is None
            if isnull:
                s = b"NULL" if c == "Q" else b"(NULL)"
            nul = s.find(b"\x00")
            if nul >= 0:
                s = s[:nul]
            if precision >= 0:
                if flag_alt2:
                    s = s.decode("utf-8", "replace")[:precision].encode("utf-8")
                else:
                    s = s[:precision]
            buf = s.replace(q, q + q)
            if c == "Q" and not isnull:
                buf = q + buf + q
            if flag_alt2:
                width = _utf8_width_adjust(buf, width)
        elif c == "c":
            s = args.text()
            ch = s.decode("utf-8", "replace")[:1].encode("utf-8") if s else b""
            if not ch:
                ch = b"\x00"
            if precision > 1:
                width -= precision - 1
                if width > 1 and not flag_left:
                    out += b" " * (width - 1)
                    width = 0
                out += ch * (precision - 1)
            buf = ch
            width = _utf8_width_adjust(buf, width)
        elif c == "%":
            buf = b"%"
        elif c == "n":
            buf = b""
            width = 0
        else:
            # An unknown conversion (or %T/%S outside SQLite itself) ends the output.
            break
        touched = True
        pad = width - len(buf)
        if pad > 0:
            if flag_left:
                out += buf
                out += b" " * pad
            else:
                out += b" " * pad
                out += buf
        else:
            out += buf
        if len(out) > _MAX_LENGTH:
            raise DataError("string or blob too big", SQLITE_TOOBIG)
    return out.decode("utf-8", "replace") if touched else None


def register_all(reg):
    """Add printf() and its alias format()."""
    reg.register("printf", -1, sql_printf)
    reg.register("format", -1, sql_printf)
