"""The shell's engine: runs SQL text and dot commands against one connection.

``Shell`` owns the connection, the output settings (a ``Renderer``) and the
output stream; ``feed_line`` accumulates input until a complete statement (or
a dot command) and runs it. Errors print as tursodb prints them
(``Parse error: …``, ``Runtime error: …``) and the shell carries on; ``failed``
records that one happened so a non-interactive run can exit non-zero.
"""

import contextlib
import csv
import os
import signal
import sys
import time

import limbodb
from limbodb.cli.render import MODES, Renderer, quote_identifier
from limbodb.parser import complete_statement, parse_one

HELP = """\
.bail on|off             Stop after hitting an error
.changes on|off          Show number of rows changed by SQL
.databases               List names and files of attached databases
.dump ?TABLE?            Render database content as SQL
.echo on|off             Turn command echo on or off
.exit ?CODE?             Exit this program with return-code CODE
.explain ?on|off?        Change the output mode for EXPLAIN
.headers on|off          Turn display of headers on or off
.help                    Show this message
.import FILE TABLE       Import data from FILE into TABLE (--csv, --skip N)
.indexes ?TABLE?         Show names of indexes
.mode MODE ?TABLE?       Set output mode: box table markdown column list tabs csv line json html insert quote
.nullvalue STRING        Use STRING in place of NULL values
.once FILE               Output for the next SQL command only to FILE
.open ?--readonly? FILE  Close existing database and reopen FILE
.output ?FILE?           Send output to FILE or stdout if FILE is omitted
.print STRING...         Print literal STRING
.quit                    Exit this program
.read FILE               Read input from FILE
.schema ?PATTERN?        Show the CREATE statements matching PATTERN
.separator COL ?ROW?     Change the column and row separators
.show                    Show the current values for various settings
.tables ?PATTERN?        List names of tables matching a LIKE pattern
.timer on|off            Turn SQL timer on or off
.width NUM1 NUM2 ...     Set minimum column widths for columnar output

Encrypted databases: open "file:NAME?cipher=CIPHER&hexkey=HEX", or on a new
database run PRAGMA cipher='aegis256' and PRAGMA hexkey='<64 hex digits>'.
Ciphers: aes128gcm aes256gcm aegis128l aegis128x2 aegis128x4 aegis256 aegis256x2 aegis256x4.
Change data capture: PRAGMA capture_data_changes_conn('off|id|before|after|full[,TABLE]').
MVCC: PRAGMA journal_mode = mvcc, then BEGIN CONCURRENT.
"""

_PARSE_MARKERS = ("syntax error", "unrecognized token", "incomplete input")


class ExitShell(Exception):
    """Raised by .quit/.exit to leave the input loop with a status."""

    def __init__(self, code=0):
        super().__init__(code)
        self.code = code


class Shell:
    def __init__(self, path=":memory:", readonly=False, out=None, err=None, interactive=False):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.interactive = interactive
        self.renderer = Renderer()
        self.echo = False
        self.bail = False
        self.timer = False
        self.show_changes = False
        self.failed = False
        self.buffer = ""
        self._once = None
        self._output_file = None
        self.conn = None
        self.open(path, readonly)

    # Connection management.
    def open(self, path, readonly=False):
        if self.conn is not None:
            self.conn.close()
        self.path = path
        self.readonly = readonly
        if readonly and path != ":memory:":
            self.conn = limbodb.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        else:
            self.conn = limbodb.connect(path, isolation_level=None)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self._set_output(None)

    # Input.
    def feed_line(self, line):
        """Take one line of input; run it when it completes a statement or is a dot command."""
        if not self.buffer and line.lstrip().startswith("."):
            if self.echo:
                self._write(line.rstrip("\n") + "\n")
            self.dot_command(line.strip())
            return
        self.buffer += line if line.endswith("\n") else line + "\n"
        if complete_statement(self.buffer):
            sql, self.buffer = self.buffer, ""
            self.run_sql(sql)

    def finish_input(self):
        """End of input: run what is left in the buffer, if anything."""
        if self.buffer.strip():
            sql, self.buffer = self.buffer, ""
            self.run_sql(sql)

    def cancel_line(self):
        self.buffer = ""

    @property
    def continuing(self):
        return bool(self.buffer.strip())

    # SQL.
    def run_sql(self, sql):
        if self.echo:
            self._write(sql.strip() + "\n")
        offset = 0
        while offset < len(sql):
            try:
                stmt, end = parse_one(sql, offset)
            except limbodb.Error as e:
                self._error(e)
                return
            if stmt is None:
                break
            text = sql[offset:end]
            offset = end
            if not self._run_statement(text) and self.bail:
                raise ExitShell(1)

    def _run_statement(self, text):
        started = time.perf_counter()
        before = self.conn.total_changes
        try:
            with _interrupt_on_sigint(self.conn):
                cur = self.conn.execute(text)
                names = [d[0] for d in cur.description] if cur.description else []
                rows = cur.fetchall() if cur.description else []
        except limbodb.Error as e:
            self._error(e)
            return False
        if names:
            self.renderer.render(names, rows, self._stream())
        self._end_once()
        if self.show_changes:
            self._write(f"changes: {self.conn.total_changes - before}   "
                        f"total_changes: {self.conn.total_changes}\n")
        if self.timer:
            self._write(f"Run Time: real {time.perf_counter() - started:.3f}\n")
        return True

    def _error(self, e):
        self.failed = True
        msg = str(e)
        kind = "Parse error" if any(m in msg for m in _PARSE_MARKERS) else "Runtime error"
        self.err.write(f"{kind}: {msg}\n")
        self.err.flush()

    # Output.
    def _stream(self):
        return self._once or self._output_file or self.out

    def _write(self, text):
        self._stream().write(text)

    def _set_output(self, path):
        if self._output_file is not None:
            self._output_file.close()
            self._output_file = None
        if path:
            self._output_file = open(path, "w", encoding="utf-8")

    def _end_once(self):
        if self._once is not None:
            self._once.close()
            self._once = None

    # Dot commands.
    def dot_command(self, line):
        try:
            args = _split_args(line[1:])
        except ValueError as e:
            self.err.write(f"Error: {e}\n")
            self.failed = True
            return
        if not args:
            return
        name = args[0].lower()
        handler = getattr(self, "_dot_" + name, None)
        if handler is None:
            self.err.write(f'Error: unknown command or invalid arguments:  "{args[0]}". Enter ".help" for help\n')
            self.failed = True
            if self.bail:
                raise ExitShell(1)
            return
        try:
            handler(args[1:])
        except (limbodb.Error, OSError) as e:
            self._error(e)
            if self.bail:
                raise ExitShell(1) from None

    def _dot_help(self, args):
        self._write(HELP)

    def _dot_quit(self, args):
        raise ExitShell(0)

    def _dot_exit(self, args):
        raise ExitShell(int(args[0]) if args else 0)

    def _dot_open(self, args):
        readonly = "--readonly" in args
        files = [a for a in args if not a.startswith("--")]
        self.open(files[0] if files else ":memory:", readonly)

    def _on_off(self, args, current):
        if not args:
            return current
        return args[0].lower() in ("on", "1", "yes", "true")

    def _dot_headers(self, args):
        self.renderer.headers = self._on_off(args, self.renderer.headers)

    def _dot_echo(self, args):
        self.echo = self._on_off(args, self.echo)

    def _dot_bail(self, args):
        self.bail = self._on_off(args, self.bail)

    def _dot_timer(self, args):
        self.timer = self._on_off(args, self.timer)

    def _dot_changes(self, args):
        self.show_changes = self._on_off(args, self.show_changes)

    def _dot_explain(self, args):
        """EXPLAIN output is already tabular; .explain only switches to column mode like sqlite3's."""
        if self._on_off(args, True):
            self.renderer.set_mode("column")

    def _dot_nullvalue(self, args):
        self.renderer.nullvalue = args[0] if args else ""

    def _dot_separator(self, args):
        if args:
            self.renderer.separator = _unescape(args[0])
        if len(args) > 1:
            self.renderer.row_separator = _unescape(args[1])

    def _dot_width(self, args):
        self.renderer.widths = [int(a) for a in args]

    def _dot_mode(self, args):
        if not args:
            self._write(f"current output mode: {self.renderer.mode}\n")
            return
        mode = args[0].lower()
        if mode not in MODES:
            self.err.write(f"Error: mode should be one of: {' '.join(MODES)}\n")
            self.failed = True
            return
        self.renderer.set_mode(mode, args[1] if len(args) > 1 else None)

    def _dot_print(self, args):
        self._write(" ".join(args) + "\n")

    def _dot_output(self, args):
        self._set_output(args[0] if args else None)

    def _dot_once(self, args):
        if not args:
            self.err.write("Error: missing FILE argument on .once\n")
            self.failed = True
            return
        self._end_once()
        self._once = open(args[0], "w", encoding="utf-8")

    def _dot_read(self, args):
        with open(args[0], encoding="utf-8") as f:
            for line in f:
                self.feed_line(line)
        self.finish_input()

    def _dot_show(self, args):
        r = self.renderer
        for k, v in (("echo", "on" if self.echo else "off"), ("headers", "on" if r.headers else "off"),
                     ("mode", r.mode), ("nullvalue", f'"{r.nullvalue}"'),
                     ("output", "stdout" if self._output_file is None else self._output_file.name),
                     ("colseparator", f'"{r.col_separator()}"'), ("rowseparator", repr(r.row_separator)[1:-1]),
                     ("width", " ".join(map(str, r.widths))), ("filename", self.path)):
            self._write(f"{k:>12}: {v}\n")

    def _dot_databases(self, args):
        mode = "r/o" if self.readonly else "r/w"
        for _, name, file in self.conn.execute("PRAGMA database_list").fetchall():
            shown = file or '""'
            self._write(f"{name}: {shown} {mode}\n")

    def _schema_rows(self, kinds, pattern=None, column="name"):
        sql = (f"SELECT name, sql, tbl_name FROM sqlite_schema WHERE type IN ({','.join('?' * len(kinds))})"
               " AND name NOT LIKE 'sqlite_%'")
        params = list(kinds)
        if pattern:
            sql += f" AND {column} LIKE ?"
            params.append(pattern)
        return self.conn.execute(sql + " ORDER BY name", params).fetchall()

    def _dot_tables(self, args):
        names = [r[0] for r in self._schema_rows(("table", "view"), args[0] if args else None)]
        if names:
            width = max(len(n) for n in names) + 2
            per_line = max(1, 80 // width)
            for i in range(0, len(names), per_line):
                self._write("".join(n.ljust(width) for n in names[i:i + per_line]).rstrip() + "\n")

    def _dot_indexes(self, args):
        for name, _, _ in self._schema_rows(("index",), args[0] if args else None, "tbl_name"):
            self._write(name + "\n")

    _dot_indices = _dot_indexes

    def _dot_schema(self, args):
        pattern = args[0] if args else None
        sql = "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL"
        params = []
        if pattern:
            sql += " AND (name LIKE ? OR tbl_name LIKE ?)"
            params = [pattern, pattern]
        for (text,) in self.conn.execute(sql + " ORDER BY rowid", params).fetchall():
            self._write(text + ";\n")

    def _dot_dump(self, args):
        tables = set(a.lower() for a in args)
        stream = self._stream()
        for line in self.conn.iterdump():
            if tables and not _dump_line_matches(line, tables):
                continue
            stream.write(line + "\n")

    def _dot_import(self, args):
        skip = 0
        rest = []
        it = iter(args)
        for a in it:
            if a == "--skip":
                skip = int(next(it))
            elif a in ("--csv", "--ascii"):
                continue
            else:
                rest.append(a)
        if len(rest) != 2:
            self.err.write("Usage: .import FILE TABLE\n")
            self.failed = True
            return
        path, table = rest
        total = os.path.getsize(path)
        with open(path, newline="", encoding="utf-8") as f:
            sep = self.renderer.separator if self.renderer.separator not in (None, "|") else ","
            progress = _Progress(self.err if self.interactive else None, total)
            reader = csv.reader(progress.track(f), delimiter=sep)
            for _ in range(skip):
                next(reader, None)
            exists = self.conn.execute("SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?",
                                       (table,)).fetchone()
            first = next(reader, None)
            if first is None:
                return
            if not exists:
                cols = ",".join(quote_identifier(c) + " TEXT" for c in first)
                self.conn.execute(f"CREATE TABLE {quote_identifier(table)}({cols})")
                ncols = len(first)
                pending = []
            else:
                ncols = len(self.conn.execute(f"SELECT * FROM {quote_identifier(table)} LIMIT 0").description)
                pending = [first]
            insert = f"INSERT INTO {quote_identifier(table)} VALUES({','.join('?' * ncols)})"
            self.conn.execute("BEGIN")
            try:
                for row in pending:
                    self.conn.execute(insert, _fit(row, ncols))
                for row in reader:
                    self.conn.execute(insert, _fit(row, ncols))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            progress.done()


@contextlib.contextmanager
def _interrupt_on_sigint(conn):
    """Ctrl-C during a statement interrupts it (the engine rolls it back) instead of killing the shell."""
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: conn.interrupt())
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _fit(row, ncols):
    return (row + [None] * ncols)[:ncols]


class _Progress:
    """A progress bar on stderr for long imports (interactive use only)."""

    def __init__(self, stream, total):
        self.stream = stream if total > 1 << 20 else None
        self.total = total
        self.pos = 0

    def track(self, lines):
        """Pass ``lines`` through, redrawing the bar every 1000 lines."""
        for n, line in enumerate(lines):
            self.pos += len(line)
            if n % 1000 == 0:
                self.update(self.pos)
            yield line

    def update(self, pos):
        if self.stream is not None:
            pct = min(100, pos * 100 // self.total)
            self.stream.write(f"\r[{'#' * (pct // 4):<25}] {pct:3d}%")
            self.stream.flush()

    def done(self):
        if self.stream is not None:
            self.update(self.total)
            self.stream.write("\n")


def _dump_line_matches(line, tables):
    """Keep the transaction frame and only the lines that belong to the named tables."""
    if line in ("BEGIN TRANSACTION;", "COMMIT;", "PRAGMA foreign_keys=OFF;"):
        return True
    low = line.lower()
    return any(f"table {t}" in low or f'table "{t}"' in low or f'into "{t}"' in low or f"into {t}" in low
               or f"on {t}" in low or f'on "{t}"' in low for t in tables)


def _unescape(s):
    return s.encode("utf-8").decode("unicode_escape") if "\\" in s else s


def _split_args(text):
    """Split dot-command arguments like the sqlite3 shell: quotes group words."""
    args = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in "'\"":
            q = text[i]
            j = text.find(q, i + 1)
            if j < 0:
                raise ValueError(f"unterminated quote in {text!r}")
            args.append(text[i + 1:j])
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            args.append(text[i:j])
            i = j
    return args

