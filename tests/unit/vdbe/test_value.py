"""Differential tests of limbodb.vdbe.value against the stdlib sqlite3 module."""

import math
import sqlite3
import struct

import pytest
from hypothesis import given, settings, strategies as st

from limbodb.errors import OperationalError
from limbodb.vdbe import value as V

INT_EDGES = [0, 1, -1, 2, 7, -7, 3, 255, 2**31, -2**31, 2**53, 2**53 + 1, 2**62, V.MAX_INT64, V.MIN_INT64,
             V.MAX_INT64 - 1, V.MIN_INT64 + 1]
FLOAT_EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -2.5, 0.1, 1e20, 1e-5, 1e300, -1e300, float("inf"), float("-inf"),
               9.223372036854775807e18, -9.223372036854775808e18, 4503599627370496.0, 123.456, 1e15, 1e16]
TEXT_EDGES = ["", " ", "0", "1", "-1", "+5", " 12 ", "12abc", "abc", "1e3", "1e", "1e+", "1.5e3x", ".5", "5.", ".",
              "-0", "-0.0", "0x10", "1.0", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
              "-9223372036854775809", "99999999999999999999", "1e400", "-1e400", "007", "  -3.25  ", "\t4\n",
              "1,5", "e5", "12345678901234567890123", "0.000000000000000000001", "Inf", "nan", "1e-400", "- 1"]
BLOB_EDGES = [b"", b"12", b"abc", b" 3.5", b"\x00\xff"]

numeric_text = st.one_of(
    st.integers(min_value=-10**20, max_value=10**20).map(str),
    st.floats(allow_nan=False).map(repr),
    st.from_regex(r"\A[ ]?[-+]?[0-9]{0,4}(\.[0-9]{0,3})?([eE][-+]?[0-9]{0,3})?[ a]?\Z"),
)
sql_values = st.one_of(
    st.none(),
    st.integers(min_value=V.MIN_INT64, max_value=V.MAX_INT64),
    st.sampled_from(INT_EDGES),
    st.floats(allow_nan=False),
    st.sampled_from(FLOAT_EDGES),
    numeric_text,
    st.sampled_from(TEXT_EDGES),
    st.text(max_size=5),
    st.sampled_from(BLOB_EDGES),
    st.binary(max_size=4),
)


@pytest.fixture(scope="module")
def db():
    conn = sqlite3.connect(":memory:")
    # limbodb reads invalid UTF-8 in blobs-turned-text with replacement characters.
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    yield conn
    conn.close()


def same(a, b):
    """Equal value and storage class; floats compared bit for bit except 0.0 == -0.0 sign."""
    if a.__class__ is not b.__class__:
        return False
    if a.__class__ is float:
        if math.isnan(a) or math.isnan(b):
            return False
        return a == b and (a != 0.0 or math.copysign(1, a) == math.copysign(1, b))
    return a == b


def check(db, sql, args, ours):
    expect = db.execute(sql, args).fetchone()[0]
    assert same(ours, expect), f"{sql} {args!r}: limbodb {ours!r} sqlite3 {expect!r}"


def test_affinity_of_type_follows_sqlites_substring_rules():
    cases = {"INTEGER": V.AFF_INTEGER, "int": V.AFF_INTEGER, "BIGINT": V.AFF_INTEGER, "VARCHAR(10)": V.AFF_TEXT,
             "CLOB": V.AFF_TEXT, "text": V.AFF_TEXT, "BLOB": V.AFF_BLOB, "": V.AFF_BLOB, None: V.AFF_BLOB,
             "REAL": V.AFF_REAL, "FLOAT": V.AFF_REAL, "DOUBLE PRECISION": V.AFF_REAL, "NUMERIC": V.AFF_NUMERIC,
             "DECIMAL(10,5)": V.AFF_NUMERIC, "BOOLEAN": V.AFF_NUMERIC, "DATE": V.AFF_NUMERIC,
             "FLOATING POINT": V.AFF_INTEGER, "CHARINT": V.AFF_INTEGER, "REALBLOB": V.AFF_BLOB,
             "TEXTBLOB": V.AFF_TEXT, "STRING": V.AFF_NUMERIC}
    for decl, aff in cases.items():
        assert V.affinity_of_type(decl) == aff, decl


def test_affinity_of_type_agrees_with_sqlite_typeof(db):
    decls = ["INTEGER", "VARCHAR(3)", "BLOB", "REAL", "FLOATING POINT", "NUMERIC", "DOUBLE", "STRING", "TEXTBLOB"]
    db.execute("CREATE TABLE aff_t(%s)" % ", ".join(f"c{i} {d}" for i, d in enumerate(decls)))
    db.execute("INSERT INTO aff_t VALUES (%s)" % ", ".join("'12'" for _ in decls))
    row = db.execute("SELECT %s FROM aff_t" % ", ".join(f"c{i}" for i in range(len(decls)))).fetchone()
    for decl, got in zip(decls, row):
        assert same(V.apply_affinity("12", V.affinity_of_type(decl)), got), decl


COLUMN_TYPES = [("INTEGER", V.AFF_INTEGER), ("REAL", V.AFF_REAL), ("NUMERIC", V.AFF_NUMERIC),
                ("TEXT", V.AFF_TEXT), ("BLOB", V.AFF_BLOB)]


def _check_stored(db, v):
    db.execute("DELETE FROM typed")
    db.execute("INSERT INTO typed VALUES (?, ?, ?, ?, ?)", (v,) * 5)
    row = db.execute("SELECT i, r, n, t, b FROM typed").fetchone()
    for (decl, aff), got in zip(COLUMN_TYPES, row):
        ours = V.apply_affinity(v, aff)
        assert same(ours, got), f"{v!r} into {decl}: limbodb {ours!r} sqlite3 {got!r}"


@pytest.fixture(scope="module")
def typed(db):
    db.execute("CREATE TABLE typed(i INTEGER, r REAL, n NUMERIC, t TEXT, b BLOB)")
    return db


def test_apply_affinity_edges_match_stored_values(typed):
    for v in INT_EDGES + FLOAT_EDGES + TEXT_EDGES + BLOB_EDGES + [None]:
        _check_stored(typed, v)


@settings(max_examples=300, deadline=None)
@given(sql_values)
def test_apply_affinity_matches_stored_values(typed, v):
    _check_stored(typed, v)


CAST_TYPES = ["INTEGER", "REAL", "NUMERIC", "TEXT", "BLOB", "VARCHAR", "FOO"]


def _check_cast(db, v):
    for t in CAST_TYPES:
        check(db, f"SELECT CAST(? AS {t})", (v,), V.cast(v, t))


def test_cast_edges(db):
    for v in INT_EDGES + FLOAT_EDGES + TEXT_EDGES + BLOB_EDGES + [None]:
        _check_cast(db, v)


@settings(max_examples=300, deadline=None)
@given(sql_values)
def test_cast_matches_sqlite(db, v):
    _check_cast(db, v)


BINARY_OPS = [("+", V.add), ("-", V.sub), ("*", V.mul), ("/", V.div), ("%", V.mod), ("&", V.bit_and),
              ("|", V.bit_or), ("<<", V.shift_left), (">>", V.shift_right), ("||", V.concat)]


def _check_binary(db, a, b):
    for op, fn in BINARY_OPS:
        check(db, f"SELECT ? {op} ?", (a, b), fn(a, b))


def test_arithmetic_edges(db):
    edges = INT_EDGES + [0.0, -0.0, 1.5, -2.5, 1e300, float("inf"), "12abc", "1e3", " 4 ", "abc", b"7", None, 64, -64,
                         63, 65, -65]
    for a in edges:
        for b in edges:
            _check_binary(db, a, b)


@settings(max_examples=400, deadline=None)
@given(sql_values, sql_values)
def test_arithmetic_matches_sqlite(db, a, b):
    _check_binary(db, a, b)


@settings(max_examples=200, deadline=None)
@given(sql_values)
def test_unary_operators_match_sqlite(db, a):
    check(db, "SELECT -(?)", (a,), V.negate(a))
    check(db, "SELECT ~(?)", (a,), V.bit_not(a))
    t = V.not3(V.truth(a))
    check(db, "SELECT NOT ?", (a,), None if t is None else int(t))


def test_integer_division_truncates_and_overflow_becomes_real():
    assert V.div(-7, 2) == -3
    assert V.div(7, -2) == -3
    assert V.mod(-7, 3) == -1
    assert V.div(1, 0) is None and V.mod(1, 0) is None and V.div(1.0, 0) is None
    assert V.add(V.MAX_INT64, 1) == 9.223372036854775807e18
    assert V.div(V.MIN_INT64, -1) == 9.223372036854775807e18
    assert V.mul(float("inf"), 0) is None


def _check_compare(db, a, b):
    c = V.compare(a, b)
    for op, res in (("=", c == 0), ("<", c == -1), (">", c == 1), ("<=", c != 1), ("!=", c != 0)):
        check(db, f"SELECT ? {op} ?", (a, b), None if c is None else int(res))


@settings(max_examples=300, deadline=None)
@given(sql_values, sql_values)
def test_compare_without_affinity_matches_sqlite(db, a, b):
    _check_compare(db, a, b)


def test_compare_uses_collation_function_for_text():
    nocase = lambda x, y: (x.lower() > y.lower()) - (x.lower() < y.lower())  # noqa: E731
    assert V.compare("ABC", "abc", nocase) == 0
    assert V.compare("ABC", "abc") == -1
    assert V.compare(1, "1") == -1 and V.compare("z", b"a") == -1 and V.compare(2, 1.5) == 1
    assert V.compare(None, 1) is None


@pytest.fixture(scope="module")
def cmp_table(db):
    db.execute("CREATE TABLE cmp(i INTEGER, r REAL, n NUMERIC, t TEXT, b BLOB)")
    return db


@settings(max_examples=200, deadline=None)
@given(sql_values, sql_values)
def test_comparison_affinity_matches_sqlite(cmp_table, a, b):
    db = cmp_table
    db.execute("DELETE FROM cmp")
    db.execute("INSERT INTO cmp VALUES (?, ?, ?, ?, ?)", (a,) * 5)
    cols = [("i", V.AFF_INTEGER), ("r", V.AFF_REAL), ("n", V.AFF_NUMERIC), ("t", V.AFF_TEXT), ("b", V.AFF_BLOB)]
    for name, aff in cols:
        stored = V.apply_affinity(a, aff)
        # column vs parameter: the parameter has no affinity
        caff = V.comparison_affinity(aff, V.AFF_NONE)
        c = V.compare(V.apply_compare_affinity(stored, caff), V.apply_compare_affinity(b, caff))
        check(db, f"SELECT {name} < ? FROM cmp", (b,), None if c is None else int(c == -1))
        check(db, f"SELECT {name} = ? FROM cmp", (b,), None if c is None else int(c == 0))
        for name2, aff2 in cols:
            stored2 = V.apply_affinity(a, aff2)
            caff = V.comparison_affinity(aff, aff2)
            c = V.compare(V.apply_compare_affinity(stored, caff), V.apply_compare_affinity(stored2, caff))
            check(db, f"SELECT {name} = {name2} FROM cmp", (), None if c is None else int(c == 0))


def test_comparison_affinity_rules():
    assert V.comparison_affinity(V.AFF_TEXT, V.AFF_NONE) == V.AFF_TEXT
    assert V.comparison_affinity(V.AFF_NONE, V.AFF_INTEGER) == V.AFF_INTEGER
    assert V.comparison_affinity(V.AFF_TEXT, V.AFF_REAL) == V.AFF_NUMERIC
    assert V.comparison_affinity(V.AFF_TEXT, V.AFF_BLOB) == V.AFF_BLOB
    assert V.comparison_affinity(V.AFF_NONE, V.AFF_NONE) == V.AFF_NONE


@settings(max_examples=200, deadline=None)
@given(sql_values, sql_values)
def test_three_valued_logic_matches_sqlite(db, a, b):
    ta, tb = V.truth(a), V.truth(b)
    for op, fn in (("AND", V.and3), ("OR", V.or3)):
        r = fn(ta, tb)
        check(db, f"SELECT ? {op} ?", (a, b), None if r is None else int(r))
    check(db, "SELECT CASE WHEN ? THEN 1 ELSE 0 END", (a,), int(ta is True))


def test_truth_of_text_uses_its_numeric_prefix():
    assert V.truth("0") is False and V.truth("abc") is False and V.truth("0.5") is True
    assert V.truth("1abc") is True and V.truth(0.0) is False and V.truth(None) is None


like_text = st.text(alphabet="abAB%_\\xé[]-^*?z", max_size=6)


@settings(max_examples=400, deadline=None)
@given(like_text, like_text)
def test_like_and_glob_match_sqlite(db, pattern, s):
    check(db, "SELECT ? LIKE ?", (s, pattern), V.like(pattern, s))
    check(db, "SELECT ? LIKE ? ESCAPE '\\'", (s, pattern), V.like(pattern, s, "\\"))
    check(db, "SELECT ? GLOB ?", (s, pattern), V.glob(pattern, s))


def test_like_edges(db):
    pats = ["a%", "%", "_", "A_c", "%b%", "ab\\%", "ab\\", "é%", "É%", "[a]", "a\nb%"]
    strs = ["abc", "ABC", "", "a", "ab%", "ab\\", "éa", "Éa", "[a]", "a\nbc", 12, None, 1.5]
    for p in pats:
        for s in strs:
            check(db, "SELECT ? LIKE ?", (s, p), V.like(p, s))
            check(db, "SELECT ? LIKE ? ESCAPE '\\'", (s, p), V.like(p, s, "\\"))
    check(db, "SELECT ? LIKE ?", (1, 1), V.like(1, 1))
    assert V.like("ABC", "abc", case_sensitive=True) == 0
    with pytest.raises(OperationalError, match="ESCAPE expression must be a single character"):
        V.like("a", "a", "xy")


def test_glob_sets_and_ranges(db):
    pats = ["[a-c]*", "[^a-c]", "[]]", "[]-a]", "[c-a]", "[a-]", "[", "a[", "[^]", "[-a]", "*[0-9]", "?", "[!a]"]
    strs = ["a", "b", "d", "]", "-", "x9", "", "^", "!", "[", "a["]
    for p in pats:
        for s in strs:
            check(db, "SELECT ? GLOB ?", (s, p), V.glob(p, s))


def _random_doubles(n, seed):
    import random
    rnd = random.Random(seed)
    out = []
    while len(out) < n:
        f = struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0]
        if not math.isnan(f):
            out.append(f)
    return out


def test_str_of_real_matches_sqlite_on_random_doubles(db):
    for f in _random_doubles(5000, 1) + FLOAT_EDGES + [5e-324, 1e-300, 2.5, 0.3, 100.0, 1e14, 123456789012345678.0]:
        check(db, "SELECT CAST(? AS TEXT)", (f,), V.str_of_real(f))


def test_str_of_real_examples():
    assert V.str_of_real(1.0) == "1.0"
    assert V.str_of_real(1e20) == "1.0e+20"
    assert V.str_of_real(0.1) == "0.1"
    assert V.str_of_real(-0.0) == "0.0"
    assert V.str_of_real(float("-inf")) == "-Inf"


def test_text_to_real_matches_sqlite_on_round_trip_strings(db):
    for f in _random_doubles(3000, 2):
        s = repr(f)
        check(db, "SELECT CAST(? AS REAL)", (s,), V.cast(s, "REAL"))
        check(db, "SELECT CAST(? AS REAL)", (s + "1",), V.cast(s + "1", "REAL"))
