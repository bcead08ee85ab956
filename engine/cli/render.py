"""Output modes of the limbodb shell: how a result set becomes text.

Each mode writes the rows of one statement as the sqlite3 shell (3.40) does:
box (the default, as tursodb's pretty mode), table, markdown, column, list,
tabs, csv, line, json, html, insert, quote. ``Renderer`` holds the settings
the dot commands change (.headers, .nullvalue, .separator, .width).
"""

import json
import math

from limbodb.vdbe.value import real_to_text

MODES = ("box", "table", "markdown", "column", "list", "tabs", "csv", "line", "json", "html", "insert", "quote")
# Modes that show a header by switching to them, as sqlite3's .mode does.
HEADER_MODES = ("box", "table", "markdown", "column")

_KEYWORDS = frozenset("""ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN
BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE
CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END
ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP
GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY
LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER
OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME
REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION
TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH WITHOUT""".split())


def quote_identifier(name):
    """Quote ``name`` for SQL text unless it is a plain, non-keyword identifier."""
    plain = name and (name[0].isalpha() or name[0] == "_") and all(c.isalnum() or c == "_" for c in name)
    if plain and name.isascii() and name.upper() not in _KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def sql_literal(v):
    """``v`` as an SQL literal, as the shell's quote and insert modes print it."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NULL"
        if math.isinf(v):
            return "1e999" if v > 0 else "-1e999"
        return real_to_text(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "X'" + bytes(v).hex().upper() + "'"
    return "'" + str(v).replace("'", "''") + "'"


def _csv_field(text, sep):
    # shell.c's needCsvQuote: control characters, quotes and every non-ASCII byte.
    if sep in text or any(c < " " or c in "\"'" or c > "\x7f" for c in text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _html_escape(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


class Renderer:
    """Formats result sets per the shell's current output settings."""

    def __init__(self):
        self.mode = "box"
        self.headers = True
        self.nullvalue = ""
        self.separator = None
        self.row_separator = "\n"
        self.widths = []
        self.table_name = "table"

    def set_mode(self, mode, table_name=None):
        self.mode = mode
        self.separator = None
        if mode in HEADER_MODES:
            self.headers = True
        if mode == "insert":
            self.table_name = table_name or "table"

    def text(self, v):
        """A value as the shell shows it in text modes."""
        if v is None:
            return self.nullvalue
        if isinstance(v, float):
            return real_to_text(v)
        if isinstance(v, (bytes, bytearray, memoryview)):
            return bytes(v).decode("utf-8", "replace")
        return str(v)

    def col_separator(self):
        if self.separator is not None:
            return self.separator
        return {"csv": ",", "tabs": "\t"}.get(self.mode, "|")

    def render(self, names, rows, out):
        """Write ``rows`` (a list of tuples) with column ``names`` to ``out``."""
        getattr(self, "_render_" + self.mode)(names, rows, out)

    # Modes that draw a grid of fixed-width columns.
    def _widths(self, names, cells):
        widths = [len(n) for n in names]
        for row in cells:
            for i, c in enumerate(row):
                w = max((len(line) for line in c.split("\n")), default=0)
                if w > widths[i]:
                    widths[i] = w
        for i, w in enumerate(self.widths[: len(widths)]):
            if w:
                widths[i] = abs(w)
        return widths

    def _grid(self, names, rows, out, left, mid, fill, vbar, bottom):
        cells = [[self.text(v) for v in row] for row in rows]
        widths = self._widths(names, cells)

        def rule(l, m, r):
            out.write(l + m.join(fill * (w + 2) for w in widths) + r + "\n")

        if left:
            rule(*left)
        if self.headers:
            out.write(vbar + vbar.join(" " + n.center(w) + " " for n, w in zip(names, widths)) + vbar + "\n")
            rule(*mid)
        for row in cells:
            out.write(vbar + vbar.join(" " + c.ljust(w) + " " for c, w in zip(row, widths)) + vbar + "\n")
        if bottom and (rows or self.headers):
            rule(*bottom)

    def _render_box(self, names, rows, out):
        if not rows and not names:
            return
        self._grid(names, rows, out, ("┌", "┬", "┐"), ("├", "┼", "┤"), "─", "│", ("└", "┴", "┘"))

    def _render_table(self, names, rows, out):
        if not rows and not names:
            return
        self._grid(names, rows, out, ("+", "+", "+"), ("+", "+", "+"), "-", "|", ("+", "+", "+"))

    def _render_markdown(self, names, rows, out):
        cells = [[self.text(v) for v in row] for row in rows]
        widths = self._widths(names, cells)
        out.write("|" + "|".join(" " + n.center(w) + " " for n, w in zip(names, widths)) + "|\n")
        out.write("|" + "|".join("-" * (w + 2) for w in widths) + "|\n")
        for row in cells:
            out.write("|" + "|".join(" " + c.ljust(w) + " " for c, w in zip(row, widths)) + "|\n")

    def _render_column(self, names, rows, out):
        cells = [[self.text(v) for v in row] for row in rows]
        widths = self._widths(names, cells)
        if self.headers:
            out.write("  ".join(n.ljust(w) for n, w in zip(names, widths)) + "\n")
            out.write("  ".join("-" * w for w in widths) + "\n")
        for row in cells:
            out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "\n")

    def _render_list(self, names, rows, out):
        sep = self.col_separator()
        if self.headers:
            out.write(sep.join(names) + self.row_separator)
        for row in rows:
            out.write(sep.join(self.text(v) for v in row) + self.row_separator)

    _render_tabs = _render_list

    def _render_csv(self, names, rows, out):
        sep = self.col_separator()
        if self.headers:
            out.write(sep.join(_csv_field(n, sep) for n in names) + "\n")
        for row in rows:
            out.write(sep.join(_csv_field(self.text(v), sep) for v in row) + "\n")

    def _render_line(self, names, rows, out):
        w = max([5] + [len(n) for n in names])
        for i, row in enumerate(rows):
            if i:
                out.write("\n")
            for n, v in zip(names, row):
                out.write(n.rjust(w) + " = " + self.text(v) + "\n")

    def _render_json(self, names, rows, out):
        if not rows:
            return
        parts = []
        for row in rows:
            fields = []
            for n, v in zip(names, row):
                if isinstance(v, float) and not math.isfinite(v):
                    val = "null" if math.isnan(v) else ("9.0e+999" if v > 0 else "-9.0e+999")
                elif isinstance(v, float):
                    val = real_to_text(v)
                elif isinstance(v, (bytes, bytearray, memoryview)):
                    val = json.dumps(bytes(v).decode("utf-8", "replace"), ensure_ascii=False)
                else:
                    val = json.dumps(v, ensure_ascii=False)
                fields.append(json.dumps(n, ensure_ascii=False) + ":" + val)
            parts.append("{" + ",".join(fields) + "}")
        out.write("[" + ",\n".join(parts) + "]\n")

    def _render_html(self, names, rows, out):
        if self.headers:
            out.write("<TR>" + "".join(f"<TH>{_html_escape(n)}</TH>\n" for n in names) + "</TR>\n")
        for row in rows:
            out.write("<TR>" + "".join(f"<TD>{_html_escape(self.text(v))}</TD>\n" for v in row) + "</TR>\n")

    def _render_insert(self, names, rows, out):
        cols = "(" + ",".join(quote_identifier(n) for n in names) + ")" if self.headers else ""
        for row in rows:
            out.write(f"INSERT INTO {quote_identifier(self.table_name)}{cols} VALUES("
                      + ",".join(sql_literal(v) for v in row) + ");\n")

    def _render_quote(self, names, rows, out):
        sep = self.separator if self.separator is not None else ","
        if self.headers:
            out.write(sep.join(sql_literal(n) for n in names) + "\n")
        for row in rows:
            out.write(sep.join(sql_literal(v) for v in row) + "\n")
