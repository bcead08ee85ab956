"""The SQL benchmarks of tests/bench/ keep running: each workload at a tiny scale, equal answers.

No timing is asserted (the machine is noisy); only that every workload of each script runs
on both engines and that limbodb's answers equal sqlite3's.
"""

import json
import pathlib
import subprocess
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"

STORAGE = ["insert", "point_lookup", "full_scan", "open_count"]
SPEEDTEST = ["bulk_insert", "indexed_insert", "select_rowid", "select_index", "filtered_scan", "group_by",
             "order_by_limit", "join", "update_by_key", "delete_by_key"]


def _run(tmp_path, script, *extra):
    out = tmp_path / "result.json"
    proc = subprocess.run([sys.executable, str(BENCH / script), "--scale", "0.01", "--repeat", "1",
                           "--json", str(out), *extra], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout, json.loads(out.read_text())


@pytest.mark.parametrize("script, names", [("bench_storage.py", STORAGE), ("bench_speedtest.py", SPEEDTEST)])
def test_every_workload_runs_and_answers_equal_sqlite3(tmp_path, script, names):
    stdout, rows = _run(tmp_path, script)
    assert [r["workload"] for r in rows] == names
    for r in rows:
        assert r["match"], r
        assert r["sqlite3_answer"] == r["limbodb_answer"]
        assert r["sqlite3_answer"] not in (None, [], 0)
        assert r["workload"] in stdout
    assert "MISMATCH" not in stdout


def test_only_runs_one_workload_after_the_writes_it_needs(tmp_path):
    _, rows = _run(tmp_path, "bench_speedtest.py", "--only", "join")
    assert [r["workload"] for r in rows] == ["join"]
    count, total = rows[0]["limbodb_answer"]
    assert count > 0 and total > 0
    assert rows[0]["match"]


def test_memory_mode_skips_the_reopen_workload(tmp_path):
    _, rows = _run(tmp_path, "bench_storage.py", "--memory")
    assert [r["workload"] for r in rows] == ["insert", "point_lookup", "full_scan"]
    assert all(r["match"] for r in rows)
