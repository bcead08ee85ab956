"""Date and time SQL functions: date, time, datetime, julianday, unixepoch, strftime, timediff.

Times are julian day numbers in milliseconds (``iJD``), as in SQLite; the
parsing of time strings and modifiers ('+N days', 'start of month',
'weekday N', 'unixepoch', 'julianday', 'auto', 'localtime', 'utc', 'subsec',
'ceiling', 'floor', '±HH:MM[:SS.SSS]', '±YYYY-MM-DD[ HH:MM[:SS.SSS]]') and the Meeus
conversions follow SQLite's date.c (3.46) step for step, including its C integer and
float truncations. strftime supports every conversion of 3.46 (%d %e %f %F %G %g %H
%I %j %J %k %l %m %M %p %P %R %s %S %T %u %U %V %w %W %Y %%); others give NULL. 'now' reads the connection's clock,
``conn.functions.now()`` (so a test can freeze it); SQLite keeps one 'now' per
statement, limbodb reads the clock at each call. 'localtime' uses Python's
``time.localtime``. Mirrors sqlite src/date.c.
"""

import re
import struct
import time as _time

from limbodb.vdbe.realfmt import format_float
from limbodb.vdbe.value import atof, real_value, to_text

_INT_MAX_JD = 464269060799999
_UNIX_EPOCH_JD_MS = 210866760000000
_F32 = struct.Struct("<f")


def _float32(x):
    return _F32.unpack(_F32.pack(x))[0]


# (name, limit, seconds per unit): date.c's aXformType, whose columns are C floats.
_XFORMS = [(name, _float32(limit), _float32(xform)) for name, limit, xform in (
    ("second", 4.6427e+14, 1.0), ("minute", 7.7379e+12, 60.0), ("hour", 1.2897e+11, 3600.0),
    ("day", 5373485.0, 86400.0), ("month", 176546.0, 2592000.0), ("year", 14713.0, 31536000.0))]
_SPACE = " \t\n\v\f\r"
_YMD_MODIFIER = re.compile(r"([+-])([0-9]{4,5})-([0-9]{2})-([0-9]{2})(.*)\Z", re.S)
_HH_MM = re.compile(r"[0-9]{2}:[0-9]{2}")


def _cdiv(a, b):
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _cmod(a, b):
    return a - b * _cdiv(a, b)


class DateTime:
    """date.c's DateTime: a julian day in ms and/or broken-down fields, with validity flags."""

    __slots__ = ("iJD", "Y", "M", "D", "h", "m", "tz", "s", "validJD", "rawS", "validYMD", "validHMS",
                 "validTZ", "tzSet", "isError", "useSubsec", "nFloor")

    def __init__(self):
        self.clear()

    def clear(self):
        self.iJD = 0
        self.Y = self.M = self.D = self.h = self.m = self.tz = 0
        self.s = 0.0
        self.validJD = self.rawS = self.validYMD = self.validHMS = False
        self.validTZ = self.tzSet = self.isError = self.useSubsec = False
        # Days the last month/year step overflowed into the next month ('floor' takes them back).
        self.nFloor = 0

    def copy(self):
        c = DateTime()
        for k in self.__slots__:
            setattr(c, k, getattr(self, k))
        return c

    def error(self):
        self.clear()
        self.isError = True

    def compute_jd(self):
        if self.validJD:
            return
        if self.validYMD:
            y, m, d = self.Y, self.M, self.D
        else:
            y, m, d = 2000, 1, 1
        if y < -4713 or y > 9999 or self.rawS:
            self.error()
            return
        if m <= 2:
            y -= 1
            m += 12
        a = _cdiv(y, 100)
        b = 2 - a + _cdiv(a, 4)
        x1 = _cdiv(36525 * (y + 4716), 100)
        x2 = _cdiv(306001 * (m + 1), 10000)
        self.iJD = int((x1 + x2 + d + b - 1524.5) * 86400000)
        self.validJD = True
        if self.validHMS:
            self.iJD += self.h * 3600000 + self.m * 60000 + int(self.s * 1000 + 0.5)
            if self.validTZ:
                self.iJD -= self.tz * 60000
                self.validYMD = self.validHMS = self.validTZ = False

    def compute_ymd(self):
        if self.validYMD:
            return
        if not self.validJD:
            self.Y, self.M, self.D = 2000, 1, 1
        elif not (0 <= self.iJD <= _INT_MAX_JD):
            self.error()
            return
        else:
            z = (self.iJD + 43200000) // 86400000
            a = int((z - 1867216.25) / 36524.25)
            a = z + 1 + a - _cdiv(a, 4)
            b = a + 1524
            c = int((b - 122.1) / 365.25)
            d = (36525 * (c & 32767)) // 100
            e = int((b - d) / 30.6001)
            x1 = int(30.6001 * e)
            self.D = b - d - x1
            self.M = e - 1 if e < 14 else e - 13
            self.Y = c - 4716 if self.M > 2 else c - 4715
        self.validYMD = True

    def compute_hms(self):
        if self.validHMS:
            return
        self.compute_jd()
        day_ms = _cmod(self.iJD + 43200000, 86400000)
        self.s = (day_ms % 60000) / 1000.0
        day_min = day_ms // 60000
        self.m = day_min % 60
        self.h = day_min // 60
        self.rawS = False
        self.validHMS = True

    def compute_ymd_hms(self):
        self.compute_ymd()
        self.compute_hms()

    def clear_ymd_hms_tz(self):
        self.validYMD = self.validHMS = self.validTZ = False

    def compute_floor(self):
        """computeFloor: how far D overshoots the end of month M."""
        d, m, y = self.D, self.M, self.Y
        if d <= 28 or (1 << m) & 0x15aa:
            self.nFloor = 0
        elif m != 2:
            self.nFloor = int(d == 31)
        elif y % 4 != 0 or (y % 100 == 0 and y % 400 != 0):
            self.nFloor = d - 28
        else:
            self.nFloor = d - 29


def _get_digits(z, i, spec):
    """getDigits: parse fixed-width fields per ``spec`` [(ndigits, min, max, next_char)].

    Returns the list of values converted (stops at the first failure).
    """
    out = []
    for n, lo, hi, nxt in spec:
        if i + n > len(z) or not z[i:i + n].isdigit() or not z[i:i + n].isascii():
            return out
        v = int(z[i:i + n])
        i += n
        if v < lo or v > hi or (nxt and (i >= len(z) or z[i] != nxt)):
            return out
        out.append(v)
        i += 1
    return out


_YMD = ((4, 0, 14712, "-"), (2, 1, 12, "-"), (2, 1, 31, ""))
_HM = ((2, 0, 24, ":"), (2, 0, 59, ""))
_SEC = ((2, 0, 59, ""),)
_TZ = ((2, 0, 14, ":"), (2, 0, 59, ""))


def _parse_timezone(z, i, p):
    n = len(z)
    while i < n and z[i] in _SPACE:
        i += 1
    p.tz = 0
    if i >= n:
        return False
    c = z[i]
    if c == "Z" or c == "z":
        i += 1
    elif c == "-" or c == "+":
        v = _get_digits(z, i + 1, _TZ)
        if len(v) != 2:
            return True
        p.tz = (-1 if c == "-" else 1) * (v[1] + v[0] * 60)
        i += 6
    else:
        return True
    while i < n and z[i] in _SPACE:
        i += 1
    p.tzSet = True
    return i < n


def _parse_hms(z, i, p):
    """parseHhMmSs: True on error."""
    v = _get_digits(z, i, _HM)
    if len(v) != 2:
        return True
    h, m = v
    i += 5
    s = 0
    ms = 0.0
    if i < len(z) and z[i] == ":":
        sv = _get_digits(z, i + 1, _SEC)
        if len(sv) != 1:
            return True
        s = sv[0]
        i += 3
        if i + 1 < len(z) and z[i] == "." and "0" <= z[i + 1] <= "9":
            i += 1
            scale = 1.0
            while i < len(z) and "0" <= z[i] <= "9":
                ms = ms * 10.0 + (ord(z[i]) - 48)
                scale *= 10.0
                i += 1
            ms /= scale
    p.validJD = False
    p.rawS = False
    p.validHMS = True
    p.h = h
    p.m = m
    p.s = s + ms
    if _parse_timezone(z, i, p):
        return True
    p.validTZ = p.tz != 0
    return False


def _parse_ymd(z, p):
    i = 0
    neg = z[:1] == "-"
    if neg:
        i = 1
    v = _get_digits(z, i, _YMD)
    if len(v) != 3:
        return True
    i += 10
    while i < len(z) and (z[i] in _SPACE or z[i] == "T"):
        i += 1
    if not _parse_hms(z, i, p):
        pass
    elif i >= len(z):
        p.validHMS = False
    else:
        return True
    p.validJD = False
    p.validYMD = True
    p.Y = -v[0] if neg else v[0]
    p.M = v[1]
    p.D = v[2]
    if p.validTZ:
        p.compute_jd()
    return False


def _set_now(conn, p):
    p.iJD = int(conn.functions.now() * 1000) + _UNIX_EPOCH_JD_MS
    p.validJD = p.iJD > 0
    return not p.validJD


def _set_raw_number(p, r):
    p.s = r
    p.rawS = True
    if 0.0 <= r < 5373484.5:
        p.iJD = int(r * 86400000.0 + 0.5)
        p.validJD = True


def _parse_date_or_time(conn, z, p):
    if not _parse_ymd(z, p):
        return False
    if not _parse_hms(z, 0, p):
        return False
    if z.lower() == "now":
        return _set_now(conn, p)
    rc, r = atof(z)
    if rc > 0:
        _set_raw_number(p, r)
        return False
    return True


def _local_tm(t):
    try:
        return _time.localtime(t)
    except (OverflowError, OSError, ValueError):
        return None


def _to_localtime(p):
    """Move a UTC DateTime to local time; True on error."""
    p.compute_jd()
    if p.iJD < 2108667600 * 100000 or p.iJD > 2130141456 * 100000:
        # Outside 1970..2037 map the year into an equivalent one, as SQLite does.
        x = p.copy()
        x.compute_ymd_hms()
        year_diff = (2000 + _cmod(x.Y, 4)) - x.Y
        x.Y += year_diff
        x.validJD = False
        x.compute_jd()
        t = _cdiv(x.iJD, 1000) - 21086676 * 10000
    else:
        year_diff = 0
        t = _cdiv(p.iJD, 1000) - 21086676 * 10000
    tm = _local_tm(t)
    if tm is None:
        return True
    p.Y = tm.tm_year - year_diff
    p.M = tm.tm_mon
    p.D = tm.tm_mday
    p.h = tm.tm_hour
    p.m = tm.tm_min
    p.s = min(tm.tm_sec, 59) + _cmod(p.iJD, 1000) * 0.001
    p.validYMD = p.validHMS = True
    p.validJD = p.rawS = p.validTZ = p.isError = False
    return False


def _auto_adjust(p):
    if not p.rawS or p.validJD:
        p.rawS = False
    elif -21086676 * 10000 <= p.s <= 25340230 * 10000 + 799:
        r = p.s * 1000.0 + 210866760000000.0
        p.clear_ymd_hms_tz()
        p.iJD = int(r + 0.5)
        p.validJD = True
        p.rawS = False


def _parse_modifier(z, p, idx):
    """Apply one modifier; True on error."""
    low = z.lower()
    c = low[:1]
    if low == "auto":
        if idx > 1:
            return True
        _auto_adjust(p)
        return False
    if low == "julianday":
        if idx > 1:
            return True
        if p.validJD and p.rawS:
            p.rawS = False
            return False
        return True
    if low == "localtime":
        return _to_localtime(p)
    if low == "unixepoch":
        if not p.rawS or idx > 1:
            return True
        r = p.s * 1000.0 + 210866760000000.0
        if 0.0 <= r < 464269060800000.0:
            p.clear_ymd_hms_tz()
            p.iJD = int(r + 0.5)
            p.validJD = True
            p.rawS = False
            return False
        return True
    if low == "utc":
        if not p.tzSet:
            p.compute_jd()
            guess = orig = p.iJD
            err = 0
            for _ in range(4):
                guess -= err
                new = DateTime()
                new.iJD = guess
                new.validJD = True
                if _to_localtime(new):
                    return True
                new.compute_jd()
                err = new.iJD - orig
                if not err:
                    break
            p.clear()
            p.iJD = guess
            p.validJD = True
            p.tzSet = True
        return False
    if low.startswith("weekday "):
        rc, r = atof(z[8:])
        if rc > 0 and 0.0 <= r < 7.0 and int(r) == r:
            n = int(r)
            p.compute_ymd_hms()
            p.validTZ = False
            p.validJD = False
            p.compute_jd()
            day = _cmod(_cdiv(p.iJD + 129600000, 86400000), 7)
            if day > n:
                day -= 7
            p.iJD += (n - day) * 86400000
            p.clear_ymd_hms_tz()
            return False
        return True
    if low in ("ceiling", "floor"):
        p.compute_jd()
        if low == "floor":
            p.iJD -= p.nFloor * 86400000
        else:
            p.nFloor = 0
        p.clear_ymd_hms_tz()
        return False
    if low in ("subsec", "subsecond"):
        p.useSubsec = True
        return False
    if low.startswith("start of "):
        if not p.validJD and not p.validYMD and not p.validHMS:
            return True
        p.compute_ymd()
        p.validHMS = True
        p.h = p.m = 0
        p.s = 0.0
        p.rawS = p.validTZ = p.validJD = False
        unit = low[9:]
        if unit == "month":
            p.D = 1
        elif unit == "year":
            p.M = 1
            p.D = 1
        elif unit != "day":
            return True
        return False
    if c and (c in "+-" or "0" <= c <= "9"):
        m = _YMD_MODIFIER.match(z)
        if m is not None:
            return _ymd_modifier(m, p)
        return _numeric_modifier(z, p)
    return True


def _add_hms(z2, negative, p):
    """Shift ``p`` by the time of day 'HH:MM[:SS[.FFF]]' in ``z2``; True on error."""
    tx = DateTime()
    if _parse_hms(z2, 0, tx):
        return True
    tx.compute_jd()
    tx.iJD -= 43200000
    tx.iJD -= _cdiv(tx.iJD, 86400000) * 86400000
    if negative:
        tx.iJD = -tx.iJD
    p.compute_jd()
    p.clear_ymd_hms_tz()
    p.iJD += tx.iJD
    return False


def _ymd_modifier(m, p):
    """'±YYYY-MM-DD[ HH:MM[:SS[.FFF]]]': add years and months (MM < 12), then days (DD < 31)
    and the time; True on error."""
    sign, y, mon, d, rest = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5)
    if mon >= 12 or d >= 31:
        return True
    p.compute_ymd_hms()
    p.validJD = False
    if sign == "-":
        p.Y -= y
        p.M -= mon
        d = -d
    else:
        p.Y += y
        p.M += mon
    x = _cdiv(p.M - 1, 12) if p.M > 0 else _cdiv(p.M - 12, 12)
    p.Y += x
    p.M -= x * 12
    p.compute_floor()
    p.compute_jd()
    p.validHMS = p.validYMD = False
    p.iJD += d * 86400000
    if not rest:
        return False
    if rest[0] not in _SPACE or not _HH_MM.match(rest, 1):
        return True
    return _add_hms(rest[1:], sign == "-", p)


def _numeric_modifier(z, p):
    n = 1
    while n < len(z) and z[n] != ":" and z[n] not in _SPACE:
        n += 1
    rc, r = atof(z[:n])
    if rc <= 0:
        return True
    if n < len(z) and z[n] == ":":
        return _add_hms(z if "0" <= z[0] <= "9" else z[1:], z[0] == "-", p)
    rest = z[n:].lstrip(_SPACE)
    k = len(rest)
    if k > 10 or k < 3:
        return True
    if rest[-1] in "sS":
        rest = rest[:-1]
    rest = rest.lower()
    p.compute_jd()
    rounder = -0.5 if r < 0 else 0.5
    rc = True
    for i, (name, limit, xform) in enumerate(_XFORMS):
        if rest == name and -limit < r < limit:
            if i == 4:
                p.compute_ymd_hms()
                p.M += int(r)
                x = _cdiv(p.M - 1, 12) if p.M > 0 else _cdiv(p.M - 12, 12)
                p.Y += x
                p.M -= x * 12
                p.compute_floor()
                p.validJD = False
                r -= int(r)
            elif i == 5:
                p.compute_ymd_hms()
                p.Y += int(r)
                p.compute_floor()
                p.validJD = False
                r -= int(r)
            p.compute_jd()
            p.iJD += int(r * 1000.0 * xform + rounder)
            rc = False
            break
    p.clear_ymd_hms_tz()
    return rc


def _is_date(conn, args):
    """isDate: the DateTime for a time value and its modifiers, or None (NULL result)."""
    p = DateTime()
    if not args:
        return None if _set_now(conn, p) else p
    v = args[0]
    cls = v.__class__
    if cls is int or cls is float:
        _set_raw_number(p, real_value(v))
    elif v is None or _parse_date_or_time(conn, to_text(v), p):
        return None
    for i in range(1, len(args)):
        m = args[i]
        if m is None or _parse_modifier(to_text(m), p, i):
            return None
    p.compute_jd()
    if p.isError or not (0 <= p.iJD <= _INT_MAX_JD):
        return None
    return p


def _fmt_year(y):
    return ("-%04d" % -y) if y < 0 else ("%04d" % y)


def _fmt_seconds(p):
    if p.useSubsec:
        s = int(1000.0 * p.s + 0.5)
        return "%02d.%03d" % ((s // 1000) % 100, s % 1000)
    return "%02d" % (int(p.s) % 100)


def julianday(conn, *args):
    p = _is_date(conn, args)
    if p is None:
        return None
    return p.iJD / 86400000.0


def unixepoch(conn, *args):
    p = _is_date(conn, args)
    if p is None:
        return None
    if p.useSubsec:
        return (p.iJD - 210866760000000) / 1000.0
    return _cdiv(p.iJD, 1000) - 210866760000


def date(conn, *args):
    p = _is_date(conn, args)
    if p is None:
        return None
    p.compute_ymd()
    return "%s-%02d-%02d" % (_fmt_year(p.Y), p.M % 100, p.D % 100)


def time(conn, *args):
    p = _is_date(conn, args)
    if p is None:
        return None
    p.compute_hms()
    return "%02d:%02d:%s" % (p.h % 100, p.m % 100, _fmt_seconds(p))


def datetime(conn, *args):
    p = _is_date(conn, args)
    if p is None:
        return None
    p.compute_ymd_hms()
    return "%s-%02d-%02d %02d:%02d:%s" % (_fmt_year(p.Y), p.M % 100, p.D % 100, p.h % 100, p.m % 100,
                                          _fmt_seconds(p))


def strftime(conn, fmt=None, *args):
    if fmt is None:
        return None
    f = to_text(fmt)
    p = _is_date(conn, args)
    if p is None:
        return None
    p.compute_jd()
    p.compute_ymd_hms()
    out = []
    i = 0
    n = len(f)
    while i < n:
        j = f.find("%", i)
        if j < 0:
            out.append(f[i:])
            break
        out.append(f[i:j])
        cf = f[j + 1:j + 2]
        i = j + 2
        if cf == "d" or cf == "e":
            out.append(("%02d" if cf == "d" else "%2d") % p.D)
        elif cf == "F":
            out.append("%04d-%02d-%02d" % (p.Y, p.M, p.D))
        elif cf in ("I", "l", "k", "H", "R", "T"):
            h = p.h
            if cf == "I" or cf == "l":
                h = h - 12 if h > 12 else h or 12
            if cf == "R":
                out.append("%02d:%02d" % (h, p.m))
            elif cf == "T":
                out.append("%02d:%02d:%02d" % (h, p.m, int(p.s)))
            else:
                out.append(("%02d" if cf == "I" or cf == "H" else "%2d") % h)
        elif cf == "p" or cf == "P":
            am = "AM" if p.h < 12 else "PM"
            out.append(am if cf == "p" else am.lower())
        elif cf == "u":
            out.append(str(_days_after_monday(p) + 1))
        elif cf in ("G", "g", "V"):
            # The Thursday of x's ISO week decides its ISO year.
            y = p.copy()
            y.iJD += (3 - _days_after_monday(p)) * 86400000
            y.validYMD = False
            y.compute_ymd()
            if cf == "G":
                out.append("%04d" % y.Y)
            elif cf == "g":
                out.append("%02d" % (y.Y % 100))
            else:
                out.append("%02d" % (_days_after_jan01(y) // 7 + 1))
        elif cf == "U":
            out.append("%02d" % ((_days_after_jan01(p) - _cmod(_cdiv(p.iJD + 129600000, 86400000), 7) + 7) // 7))
        elif cf == "f":
            s = min(p.s, 59.999)
            out.append(format_float(s, "f", 3, False, False, "").rjust(6, "0"))
        elif cf == "W" or cf == "j":
            y = p.copy()
            y.validJD = False
            y.M = 1
            y.D = 1
            y.compute_jd()
            nday = _cdiv(p.iJD - y.iJD + 43200000, 86400000)
            if cf == "W":
                wd = _cmod(_cdiv(p.iJD + 43200000, 86400000), 7)
                out.append("%02d" % _cdiv(nday + 7 - wd, 7))
            else:
                out.append("%03d" % (nday + 1))
        elif cf == "J":
            out.append(format_float(p.iJD / 86400000.0, "g", 16, False, False, ""))
        elif cf == "m":
            out.append("%02d" % p.M)
        elif cf == "M":
            out.append("%02d" % p.m)
        elif cf == "s":
            if p.useSubsec:
                out.append(format_float((p.iJD - 210866760000000) / 1000.0, "f", 3, False, False, ""))
            else:
                out.append(str(_cdiv(p.iJD, 1000) - 210866760000))
        elif cf == "S":
            out.append("%02d" % int(p.s))
        elif cf == "w":
            out.append(str(_cmod(_cdiv(p.iJD + 129600000, 86400000), 7)))
        elif cf == "Y":
            out.append("%04d" % p.Y)
        elif cf == "%":
            out.append("%")
        else:
            return None
    return "".join(out)


def _days_after_monday(p):
    return _cmod(_cdiv(p.iJD + 43200000, 86400000), 7)


def _days_after_jan01(p):
    y = p.copy()
    y.validJD = False
    y.M = 1
    y.D = 1
    y.compute_jd()
    return _cdiv(p.iJD - y.iJD + 43200000, 86400000)


def timediff(conn, a, b):
    """timediff(A, B): '±YYYY-MM-DD HH:MM:SS.SSS', the calendar time to add to B to reach A."""
    d1 = _is_date(conn, [a])
    d2 = _is_date(conn, [b]) if d1 is not None else None
    if d2 is None:
        return None
    d1.compute_ymd_hms()
    d2.compute_ymd_hms()
    if d1.iJD >= d2.iJD:
        sign = "+"
        y = d1.Y - d2.Y
        month = d1.M - d2.M
    else:
        sign = "-"
        y = d2.Y - d1.Y
        month = d2.M - d1.M
    if y:
        d2.Y = d1.Y
        d2.validJD = False
        d2.compute_jd()
    if month < 0:
        y -= 1
        month += 12
    if month != 0:
        d2.M = d1.M
        d2.validJD = False
        d2.compute_jd()
    step = -1 if sign == "+" else 1
    while (d1.iJD < d2.iJD) if sign == "+" else (d1.iJD > d2.iJD):
        month -= 1
        if month < 0:
            month = 11
            y -= 1
        d2.M += step
        if d2.M < 1:
            d2.M = 12
            d2.Y -= 1
        elif d2.M > 12:
            d2.M = 1
            d2.Y += 1
        d2.validJD = False
        d2.compute_jd()
    d1.iJD = (d1.iJD - d2.iJD if sign == "+" else d2.iJD - d1.iJD) + 148699540800000
    d1.clear_ymd_hms_tz()
    d1.compute_ymd_hms()
    return "%s%04d-%02d-%02d %02d:%02d:%06.3f" % (sign, y, month, d1.D - 1, d1.h, d1.m, d1.s)


def current_date(conn):
    return date(conn)


def current_time(conn):
    return time(conn)


def current_timestamp(conn):
    return datetime(conn)


def register_all(reg):
    """Add the date and time functions; they read 'now' from the connection."""
    for name, fn in (("julianday", julianday), ("unixepoch", unixepoch), ("date", date), ("time", time),
                     ("datetime", datetime), ("strftime", strftime)):
        reg.register(name, -1, fn, deterministic=False, needs_context=True)
    reg.register("timediff", 2, timediff, deterministic=False, needs_context=True)
    for name, fn in (("current_date", current_date), ("current_time", current_time),
                     ("current_timestamp", current_timestamp)):
        reg.register(name, 0, fn, deterministic=False, needs_context=True)
