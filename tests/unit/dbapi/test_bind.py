"""Statement.bind: positional and named parameters, accepted types and errors, as sqlite3 has them."""

import sqlite3

import pytest

import limbodb.errors
from limbodb.connection import Connection
from limbodb.errors import InterfaceError, ProgrammingError
from limbodb.parser import parse_one
from limbodb.statement import Statement, check_value
from limbodb.vdbe.program import Program


def _statement(sql):
    """A Statement over an empty program with the parameters the parser found in ``sql``."""
    stmt, _ = parse_one(sql, 0)
    program = Program([], 0, 0, param_count=stmt.param_count or 0, param_names=dict(stmt.param_names or {}))
    return Statement(Connection(":memory:"), program, sql, 0)


def _sqlite_error(sql, params):
    try:
        sqlite3.connect(":memory:").execute(sql, params)
    except Exception as e:  # noqa: BLE001 - the oracle's exception, whatever its class
        return e
    return None


CASES = [
    ("SELECT ?, ?", (1,)),
    ("SELECT ?, ?", (1, 2, 3)),
    ("SELECT ?", ([1],)),
    ("SELECT ?", ({},)),
    ("SELECT ?", (object(),)),
    ("SELECT :x", {}),
    ("SELECT :x, :y", {"x": 1}),
    ("SELECT ?", {"a": 1}),
    ("SELECT ?", (2 ** 63,)),
    ("SELECT ?", (-(2 ** 63) - 1,)),
    ("SELECT :x", {"x": [1]}),
]


@pytest.mark.parametrize("sql,params", CASES)
def test_binding_errors_match_sqlite3(sql, params):
    expected = _sqlite_error(sql, params)
    assert expected is not None
    cls = getattr(limbodb.errors, type(expected).__name__) if isinstance(expected, sqlite3.Error) else type(expected)
    with pytest.raises(cls) as got:
        _statement(sql).bind(params)
    assert str(got.value) == str(expected)


def test_positional_values_reach_the_vm():
    st = _statement("SELECT ?, ?, ?, ?, ?, ?")
    st.bind((None, 7, 2.5, "x", b"\x00", bytearray(b"ab")))
    assert st.vm.params[1:] == [None, 7, 2.5, "x", b"\x00", b"ab"]
    assert [type(v) for v in st.vm.params[1:]] == [type(None), int, float, str, bytes, bytes]


def test_named_parameters_bind_by_name_and_reuse_slots():
    st = _statement("SELECT :a, @b, $c, :a")
    assert st.parameter_count == 3
    assert [st.parameter_name(i) for i in (1, 2, 3)] == [":a", "@b", "$c"]
    st.bind({"a": 1, "b": 2, "c": 3, "unused": 4})
    assert st.vm.params[1:] == [1, 2, 3]


def test_numbered_parameters():
    st = _statement("SELECT ?2, ?1")
    assert st.parameter_count == 2
    st.bind(("one", "two"))
    assert st.vm.params[1:] == ["one", "two"]


def test_bool_and_int_subclasses_bind_as_integers():
    st = _statement("SELECT ?, ?")
    st.bind((True, memoryview(b"xy")))
    assert st.vm.params[1:] == [1, b"xy"] and type(st.vm.params[1]) is int


def test_64_bit_bounds_are_accepted():
    st = _statement("SELECT ?, ?")
    st.bind((2 ** 63 - 1, -(2 ** 63)))
    assert st.vm.params[1:] == [2 ** 63 - 1, -(2 ** 63)]


def test_bind_value_checks_the_index():
    st = _statement("SELECT ?")
    with pytest.raises(InterfaceError):
        st.bind_value(2, 1)


def test_check_value_names_the_parameter_index():
    with pytest.raises(ProgrammingError, match="^Error binding parameter 3: type 'set' is not supported$"):
        check_value(set(), 3)


def test_sequence_types_other_than_list_and_tuple():
    class Seq:
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return (10, 20)[i]

    st = _statement("SELECT ?, ?")
    st.bind(Seq())
    assert st.vm.params[1:] == [10, 20]
    st.bind("xy")  # a str is a sequence of one-character strings to sqlite3 too
    assert st.vm.params[1:] == ["x", "y"]
    with pytest.raises(ProgrammingError, match="parameters are of unsupported type"):
        st.bind(42)


def test_executemany_binds_tuples_as_execute_does_with_adapters_and_errors(tmp_path):
    import limbodb

    class Point:
        def __init__(self, x):
            self.x = x

    out = []
    for mod in (sqlite3, limbodb):
        con = mod.connect(str(tmp_path / (mod.__name__ + ".db")))
        con.execute("CREATE TABLE t1(a, b, c)")
        mod.register_adapter(Point, lambda p: "P%d" % p.x)
        try:
            con.executemany("INSERT INTO t1 VALUES(?, ?, ?)",
                            [(1, "x", None), (Point(2), 2.5, b"\x01"), (True, bytearray(b"ab"), 3)])
            errors = []
            for rows in ([(1, 2)], [(2 ** 63, 1, 1)], [(object(), 1, 1)]):
                try:
                    con.executemany("INSERT INTO t1 VALUES(?, ?, ?)", rows)
                except Exception as e:  # noqa: BLE001 - compared by class name and text
                    errors.append((type(e).__name__, str(e)))
            out.append((con.execute("SELECT a, typeof(a), b, typeof(b), c, typeof(c) FROM t1").fetchall(),
                        errors))
        finally:
            del mod.adapters[(Point, mod.PrepareProtocol)]
            con.close()
    assert out[0] == out[1]
