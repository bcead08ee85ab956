"""Each output mode prints exactly what the sqlite3 3.40 shell prints for the same rows."""

import io

import pytest

from limbodb.cli.render import Renderer, quote_identifier, sql_literal

NAMES = ["a", "b"]
ROWS = [(1, None), (2.5, "héllo")]

EXPECTED = {
    "box": """\
┌─────┬───────┐
│  a  │   b   │
├─────┼───────┤
│ 1   │       │
│ 2.5 │ héllo │
└─────┴───────┘
""",
    "table": """\
+-----+-------+
|  a  |   b   |
+-----+-------+
| 1   |       |
| 2.5 | héllo |
+-----+-------+
""",
    "column": "a    b    \n---  -----\n1         \n2.5  héllo\n",
    "markdown": "|  a  |   b   |\n|-----|-------|\n| 1   |       |\n| 2.5 | héllo |\n",
    "line": "    a = 1\n    b = \n\n    a = 2.5\n    b = héllo\n",
    "quote": "'a','b'\n1,NULL\n2.5,'héllo'\n",
    "insert": "INSERT INTO \"table\"(a,b) VALUES(1,NULL);\nINSERT INTO \"table\"(a,b) VALUES(2.5,'héllo');\n",
    "json": '[{"a":1,"b":null},\n{"a":2.5,"b":"héllo"}]\n',
    "html": "<TR><TH>a</TH>\n<TH>b</TH>\n</TR>\n<TR><TD>1</TD>\n<TD></TD>\n</TR>\n"
            "<TR><TD>2.5</TD>\n<TD>héllo</TD>\n</TR>\n",
    "csv": 'a,b\n1,\n2.5,"héllo"\n',
    "list": "a|b\n1|\n2.5|héllo\n",
    "tabs": "a\tb\n1\t\n2.5\théllo\n",
}


def render(mode, names=NAMES, rows=ROWS, **settings):
    r = Renderer()
    r.set_mode(mode)
    r.headers = True
    for k, v in settings.items():
        setattr(r, k, v)
    out = io.StringIO()
    r.render(names, rows, out)
    return out.getvalue()


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_each_mode_prints_what_the_sqlite3_shell_prints(mode):
    assert render(mode) == EXPECTED[mode]


def test_nullvalue_replaces_null_in_text_modes():
    assert render("list", nullvalue="NULL") == "a|b\n1|NULL\n2.5|héllo\n"


def test_headers_off_in_list_mode():
    assert render("list", headers=False) == "1|\n2.5|héllo\n"


def test_separator_changes_list_mode():
    assert render("list", separator=";") == "a;b\n1;\n2.5;héllo\n"


def test_width_sets_column_widths():
    out = render("column", widths=[5, 2])
    assert out.splitlines()[0] == "a      b "


def test_line_mode_aligns_names_right_at_least_five_wide():
    assert render("line", ["x", "longname"], [(1, 2)]) == "       x = 1\nlongname = 2\n"


def test_quote_literals():
    assert sql_literal(b"\x01\xab") == "X'01AB'"
    assert sql_literal("it's") == "'it''s'"
    assert sql_literal(1.0) == "1.0"
    assert sql_literal(None) == "NULL"


def test_identifiers_are_quoted_only_when_needed():
    assert quote_identifier("t1") == "t1"
    assert quote_identifier("table") == '"table"'
    assert quote_identifier("my col") == '"my col"'
    assert quote_identifier('a"b') == '"a""b"'
