"""Which of the engine's pytest modules run inside Pyodide, which tests cannot, and the in-Pyodide runner.

Imported twice: on the host by test_engine_suite_in_pyodide.py (for SUITE,
EXCLUDED and ``modules``), and inside Pyodide by that module's
``run_in_pyodide`` function, which calls ``main``. So it imports only the
standard library at the top; pytest is imported in ``main``.

Every test that does not run in Pyodide is listed in EXCLUDED with its reason:
a whole module (it cannot even be imported there) or a node id prefix (one
test and all its parametrizations). An entry that matches nothing fails the
host test, so the list cannot go stale silently.
"""

import contextlib
import io
import os
import sys
from pathlib import Path

# Folders, relative to the repository, whose test_*.py modules run in Pyodide, and single modules.
# Left out: tests/fault (its harness bounds each case with signal.alarm, which Pyodide lacks),
# tests/unit/aio (asyncio's run_until_complete in Pyodide needs JavaScript Promise Integration,
# which Node 20 lacks) and tests/unit/bench (it runs the benchmark scripts as processes).
SUITE = (
    "tests/unit/io",
    "tests/unit/storage",
    "tests/unit/parser",
    "tests/unit/functions",
    "tests/unit/vdbe",
    "tests/unit/dbapi",
    "tests/sql",
    "tests/unit/translate",
    "tests/property",
    "tests/compat",
    "tests/sim",
    "tests/differential",
    "tests/unit/cli",
    # The Python half of the JS binding, which runs in Pyodide in the npm package.
    "tests/pyodide/test_bridge.py",
    "tests/pyodide/test_bridge_turso.py",
)

_NO_LIMIT = ("the oracle differs: Pyodide's SQLite is built without SQLITE_ENABLE_UPDATE_DELETE_LIMIT "
             "(UPDATE/DELETE ... ORDER BY ... LIMIT is a syntax error there), Debian's with it")
_NO_PROCESSES = "Pyodide cannot start processes (subprocess: 'emscripten does not support processes')"
_ORACLE_339 = ("the oracle differs: Pyodide's sqlite3 is SQLite 3.39.0 built for wasm32, "
               "the host's is 3.40.1 (x86-64); limbodb answers as on CPython, where it matches the host's")
_PUSHDOWN_339 = (" (which compounds SQLite pushes an outer WHERE term into changed in 3.40: 3.39.0 pushes one into a "
                 "UNION, 3.40 into UNION ALL arms only, and 3.39.0 flattens UNION ALL arms of different affinity)")

EXCLUDED = {
    "tests/unit/io/test_io_uring.py":
        "io_uring is Linux only: limbodb.io.uring.ring needs libc's syscall(), which Pyodide's ctypes lacks",
    "tests/unit/io/test_io_uring_durability.py": "io_uring is Linux only: every test here is skipped in Pyodide",
    "tests/unit/io/test_io_uring_choose.py::test_a_refused_setup_falls_back_to_blocking_and_logs_why":
        "expects Linux's refusal reason; in Pyodide the fallback's reason is 'io_uring needs Linux'",
    "tests/unit/io/test_io_uring_choose.py::test_the_disabled_knob_falls_back_with_its_value_in_the_log":
        "expects Linux's refusal reason; in Pyodide the fallback's reason is 'io_uring needs Linux'",
    "tests/unit/storage/test_pager_journal.py::test_hot_journal_from_killed_sqlite3_is_rolled_back":
        _NO_PROCESSES,
    "tests/unit/storage/test_pager_journal.py::test_journal_parser_stops_at_a_bad_record_checksum":
        _NO_PROCESSES,
    "tests/unit/storage/test_pager_locks.py": "every test locks the file against another process: " + _NO_PROCESSES,
    "tests/unit/dbapi/test_package.py::test_importing_a_layer_does_not_load_the_dbapi":
        _NO_PROCESSES,
    "tests/unit/dbapi/test_dbapi.py::test_other_threads_are_refused":
        "Pyodide has no threads ('can't start new thread')",
    "tests/unit/parser/test_errors.py::test_error_message_matches_sqlite[SELECT ?0]":
        "the oracle differs: Pyodide's SQLite is built with SQLITE_MAX_VARIABLE_NUMBER=250000, Debian's with 32766",
    "tests/unit/parser/test_errors.py::test_error_message_matches_sqlite[SELECT ?250001]":
        "the oracle differs: Pyodide's SQLite is built with SQLITE_MAX_VARIABLE_NUMBER=250000, Debian's with 32766",
    "tests/unit/functions/test_scalar.py::test_one_argument_functions_match_sqlite":
        _ORACLE_339 + " (quote() of reals changed in 3.40; Pyodide's SQLite lacks soundex())",
    "tests/unit/functions/test_scalar.py::test_two_argument_functions_match_sqlite":
        _ORACLE_339 + " (round(13, 19) is 13.0 in 3.39.0 on wasm32, 12.99999999999999 in 3.40.1 on x86-64)",
    "tests/unit/functions/test_scalar.py::test_quote_of_reals_and_blobs":
        _ORACLE_339 + " (quote() of reals changed in 3.40)",
    "tests/unit/functions/test_scalar.py::test_round_matches_sqlite":
        _ORACLE_339 + " (round(1226784492273634.0, 4) is ...634.0 in 3.39.0 on wasm32, ...633.0 in 3.40.1 on x86-64)",
    "tests/unit/functions/test_scalar.py::test_printf_matches_sqlite":
        _ORACLE_339 + " (printf's digits past double precision come from long double)",
    "tests/unit/vdbe/test_value.py::test_text_to_real_matches_sqlite_on_round_trip_strings":
        _ORACLE_339 + " (text to real: SQLite's long double is 80-bit on x86-64, 128-bit on wasm32)",
    "tests/unit/cli/test_shell.py": "it runs the limbodb shell as a process: " + _NO_PROCESSES,
    "tests/compat/test_turso_encryption.py":
        "pyturso (the oracle here) is a native extension that Pyodide cannot load: every test is skipped",
    "tests/unit/functions/test_jsonb_vs_apsw.py":
        "apsw (the oracle here) is a native extension that Pyodide cannot load: every test is skipped",
    "tests/unit/translate/test_regressions_vs_sqlite.py::test_text_functions_stop_at_a_nul_character"
    "[soundex(CAST(x'610062' AS TEXT))]":
        "the oracle differs: Pyodide's SQLite is built without SQLITE_SOUNDEX (no such function: soundex)",
    "tests/compat/test_turso_cdc.py":
        "pyturso (the oracle here) is a native extension that Pyodide cannot load: every test is skipped",
    "tests/compat/test_turso_attach_encryption.py":
        "pyturso (the oracle here) is a native extension that Pyodide cannot load: every test is skipped",
    "tests/unit/functions/test_json5_vs_apsw.py":
        "apsw (the oracle here) is a native extension that Pyodide cannot load: every test is skipped",
    "tests/compat/test_turso_cdc_triggers.py":
        "pyturso (the oracle here) is a native extension that Pyodide cannot load: every test is skipped",
    "tests/compat/test_turso_mvcc.py":
        "pyturso (the oracle here) is a native extension that Pyodide cannot load, and one test kills "
        "a pyturso process: " + _NO_PROCESSES,
    "tests/compat/test_turso_mvcc_encrypted.py":
        "pyturso (the oracle here) is a native extension that Pyodide cannot load, and one test kills "
        "a pyturso process: " + _NO_PROCESSES,
    "tests/unit/translate/test_trigger_gaps_vs_sqlite.py::test_returning_on_view_matches_sqlite":
        "the oracle differs: SQLite 3.39.0 (Pyodide's) rejects rowid in RETURNING on a view "
        "('no such column: rowid'), 3.40.1 (the host's) returns -1 or the rowid",
    "tests/unit/translate/test_triggers_vs_sqlite.py::test_trigger_script_matches_sqlite[view-rowids]":
        "the oracle differs: SQLite 3.39.0 (Pyodide's) rejects new.rowid in an INSTEAD OF trigger on a view "
        "('no such column: new.rowid'), 3.40.1 (the host's) accepts it",
    "tests/unit/translate/test_random_select_shapes_vs_sqlite.py":
        "its one test fails on a limbodb bug, on CPython too, that Pyodide's older hypothesis finds: "
        "in `SELECT c, count(*) FROM t1 GROUP BY c` with c COLLATE NOCASE, the bare column gives the "
        "group's first value ('x'), SQLite its last ('X'); remove this entry once it is fixed",
    "tests/compat/test_sqlite3_patterns.py::test_module_globals[sqlite3]":
        "the oracle differs: Pyodide's SQLite is built single-threaded (sqlite3.threadsafety == 0)",
    "tests/unit/translate/test_update_from_limit_vs_sqlite.py": _NO_LIMIT,
    "tests/differential/test_like_blobs.py::test_random_like_and_glob_on_blobs_match_turso":
        "pyturso (the oracle here) is a native extension that Pyodide cannot load",
    "tests/unit/translate/test_outer_aggregates_anywhere_vs_sqlite.py::test_same_as_current_sqlite":
        "apsw (the oracle here: sqlite3 3.40 rejects these forms) is a native extension that Pyodide cannot load",
    "tests/unit/translate/test_without_rowid_more_vs_sqlite.py::test_update_from_and_order_by_limit": _NO_LIMIT,
    "tests/sql/test_sqltest.py::test_sqltest_case[tvf_update_from.sqltest::update-and-delete-with-order-by-and-limit[:memory:]]":
        _NO_LIMIT,
    "tests/sql/test_sqltest.py::test_sqltest_case[tvf_update_from.sqltest::delete-order-by-needs-limit[:memory:]]":
        _NO_LIMIT,
    "tests/sql/test_sqltest.py::test_sqltest_case[unused_subquery_columns.sqltest::"
    "a-subquery-in-a-join-leaves-its-unused-columns-out[:memory:]]":
        _ORACLE_339 + " (3.39.0 does not flatten a subquery on the right of a LEFT JOIN, 3.40 does)",
    "tests/sql/test_sqltest.py::test_sqltest_case[unused_subquery_columns.sqltest::"
    "union-all-arms-of-different-affinity-compute-every-column[:memory:]]":
        _ORACLE_339 + " (3.39.0 flattens UNION ALL arms of different affinity, 3.40 does not)",
    "tests/unit/translate/test_unused_subquery_columns_vs_sqlite.py::test_random_subquery_shapes_raise_where_sqlite_raises":
        _ORACLE_339 + " (which subqueries SQLite flattens changed in 3.40: outer joins, UNION ALL affinities)",
    "tests/sql/test_sqltest.py::test_sqltest_case[subquery_pushdown.sqltest::"
    "a-where-term-is-pushed-into-every-union-all-arm[:memory:]]": _ORACLE_339 + _PUSHDOWN_339,
    "tests/sql/test_sqltest.py::test_sqltest_case[subquery_pushdown.sqltest::no-term-is-pushed-into-a-union[:memory:]]":
        _ORACLE_339 + _PUSHDOWN_339,
    "tests/unit/translate/test_pushdown_vs_sqlite.py::test_random_outer_terms_reject_rows_where_sqlite_does":
        _ORACLE_339 + _PUSHDOWN_339,
    "tests/sim/test_crash_sql.py":
        "left out for time: its crash loops take about four minutes in Pyodide (SimulatedIO is pure Python, "
        "so CPython's run covers the same code); tests/sim/test_crash_pager.py keeps power loss covered here",
    "tests/sim/test_crash_journal.py": "its one test makes the hot journal with a killed sqlite3 process: " + _NO_PROCESSES,
    **{f"tests/unit/translate/test_fkey_affinity_vs_sqlite.py::{test}[INTEGER PRIMARY KEY-REAL{variant}]":
       "its oracle is apsw (not in Pyodide): SQLite 3.39/3.40 fails an integer in a REAL child column of an "
       "INTEGER PRIMARY KEY parent, a bug current SQLite fixed"
       for test, variant in (("test_parent_delete_and_update_match_children_as_sqlite", "-scan"),
                             ("test_parent_delete_and_update_match_children_as_sqlite", "-indexed"),
                             ("test_child_insert_finds_its_parent_as_sqlite", ""))},
}


def modules(root):
    """The test modules SUITE names, under the repository at ``root``."""
    paths = (Path(root, d) for d in SUITE)
    return sorted(q for p in paths for q in ([p] if p.suffix == ".py" else p.rglob("test_*.py")))


def _is_module(key):
    return "::" not in key


class _Recorder:
    """A pytest plugin: drops EXCLUDED tests, records each remaining test's outcome."""

    def __init__(self, root):
        self.root = root
        self.outcomes = {}  # nodeid -> "passed" | "failed" | "skipped" | "error"
        self.collect_errors = []
        self.failures = {}  # nodeid -> the end of its traceback
        self.matched = set()  # EXCLUDED keys that named something collected or a module skipped
        self.item_keys = [k for k in EXCLUDED if not _is_module(k)]

    def pytest_ignore_collect(self, collection_path):
        key = os.path.relpath(str(collection_path), self.root)
        if key in EXCLUDED:
            self.matched.add(key)
            return True
        return None

    def pytest_collection_modifyitems(self, config, items):
        kept, dropped = [], []
        for item in items:
            hit = [k for k in self.item_keys if item.nodeid == k or item.nodeid.startswith(k + "[")]
            self.matched.update(hit)
            (dropped if hit else kept).append(item)
        items[:] = kept
        config.hook.pytest_deselected(items=dropped)

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_errors.append(report.nodeid)

    def pytest_runtest_logreport(self, report):
        if report.failed:
            self.outcomes[report.nodeid] = "failed" if report.when == "call" else "error"
            self.failures[report.nodeid] = report.longreprtext[-3000:]
        elif report.when == "call" or report.skipped:
            self.outcomes.setdefault(report.nodeid, report.outcome)


def main(root):
    """Runs SUITE under pytest in this interpreter; returns the report, pytest's output in "log"."""
    import site
    import sqlite3

    import limbodb
    import pytest

    # The repository is the host's, mounted: nothing may be written into it, and relative
    # paths (hypothesis' example database) land in Pyodide's in-memory /tmp instead.
    sys.dont_write_bytecode = True
    os.chdir("/tmp")
    recorder = _Recorder(root)
    # Hypothesis runs derandomized (tests/conftest.py), but Pyodide's hypothesis is an older release
    # than the host's, so it draws other examples: a failure here may be a bug CPython's run misses.
    args = ["-q", "-p", "no:cacheprovider", "--color=no", "--rootdir", root]
    args += [os.path.join(root, d) for d in SUITE]
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        exit_code = pytest.main(args, plugins=[recorder])
    return {
        "exit_code": int(exit_code), "python": sys.version.split()[0], "platform": sys.platform,
        "sqlite_version": sqlite3.sqlite_version, "limbodb_file": limbodb.__file__,
        "site_packages": site.getsitepackages()[0],
        "outcomes": recorder.outcomes, "collect_errors": recorder.collect_errors,
        "failures": recorder.failures, "matched_exclusions": sorted(recorder.matched),
        "log": log.getvalue(),
    }
