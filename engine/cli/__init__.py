"""The ``limbodb`` command: an interactive SQL shell in the manner of sqlite3 and tursodb.

``main()`` parses the options, then runs SQL given as arguments, SQL piped on
standard input (no banner, no prompts), an MCP server (``--mcp``), or the
interactive loop with readline editing and history.
"""

import argparse
import os
import sys

import limbodb
from limbodb.cli.render import HEADER_MODES, MODES
from limbodb.cli.shell import ExitShell, Shell

PROMPT = "limbodb> "
CONTINUATION = "   ...> "


def _parser():
    p = argparse.ArgumentParser(prog="limbodb", description="limbodb: an SQLite-compatible SQL shell")
    p.add_argument("database", nargs="?", default=":memory:", help="database file (default: in-memory)")
    p.add_argument("sql", nargs="*", help="SQL to run, then exit")
    p.add_argument("-m", "--output-mode", choices=MODES, default="box", help="output mode")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the banner")
    p.add_argument("-e", "--echo", action="store_true", help="print commands before running them")
    p.add_argument("--readonly", action="store_true", help="open the database read-only")
    p.add_argument("-c", "--cmd", action="append", default=[], help="run this command first (repeatable)")
    p.add_argument("-V", "--version", action="version", version=f"limbodb {limbodb.__version__}")
    p.add_argument("--mcp", action="store_true", help="serve the Model Context Protocol over stdio")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.mcp:
        from limbodb.cli.mcp import serve
        return serve(args.database, sys.stdin, sys.stdout, readonly=args.readonly)
    interactive = not args.sql and sys.stdin.isatty()
    try:
        shell = Shell(args.database, readonly=args.readonly, interactive=interactive)
    except limbodb.Error as e:
        sys.stderr.write(f"Error: unable to open database \"{args.database}\": {e}\n")
        return 1
    shell.renderer.set_mode(args.output_mode)
    shell.renderer.headers = args.output_mode in HEADER_MODES
    shell.echo = args.echo
    try:
        for cmd in args.cmd:
            shell.feed_line(cmd)
            shell.finish_input()
        if args.sql:
            for text in args.sql:
                shell.feed_line(text)
                shell.finish_input()
        elif interactive:
            _repl(shell, args.quiet)
        else:
            for line in sys.stdin:
                shell.feed_line(line)
            shell.finish_input()
    except ExitShell as e:
        return e.code
    finally:
        shell.close()
    return 1 if shell.failed and not interactive else 0


def _banner(shell):
    lines = [f"limbodb v{limbodb.__version__}", 'Enter ".help" for usage hints.']
    if shell.path == ":memory:":
        lines += ["Connected to a transient in-memory database.",
                  'Use ".open FILENAME" to reopen on a persistent database']
    else:
        lines.append(f"Connected to {shell.path}")
    return "\n".join(lines) + "\n"


def _repl(shell, quiet):
    try:
        import readline
    except ImportError:
        readline = None
    history = os.path.expanduser("~/.limbodb_history")
    if readline is not None:
        try:
            readline.read_history_file(history)
        except OSError:
            pass
    if not quiet:
        sys.stdout.write(_banner(shell))
    try:
        while True:
            try:
                line = input(CONTINUATION if shell.continuing else PROMPT)
            except KeyboardInterrupt:
                sys.stdout.write("^C\n")
                shell.cancel_line()
                continue
            except EOFError:
                sys.stdout.write("\n")
                break
            try:
                shell.feed_line(line)
            except KeyboardInterrupt:
                shell.cancel_line()
                sys.stderr.write("Interrupted\n")
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history)
            except OSError:
                pass
