"""Crash safety of the pager under SimulatedIO: power loss at a random operation.

A seeded workload of write transactions (page writes, allocations, frees, rollbacks,
checkpoints in every mode, a reader holding old snapshots) runs until the power is cut
at a random I/O operation (unsynced writes lost, or torn per 512-byte sector). After
reopening the surviving files, the database must be exactly the last committed state,
or the state of the commit that was in flight: every committed transaction present, no
uncommitted one. LIMBODB_SOAK=N runs N seeds instead of the default.
"""

import os
import random

import pytest

from limbodb.errors import IOError_
from limbodb.io import run_sync
from limbodb.io.sim import PowerLossError, SimulatedIO
from limbodb.storage.pager import (
    CHECKPOINT_FULL, CHECKPOINT_PASSIVE, CHECKPOINT_RESTART, CHECKPOINT_TRUNCATE, Database, Pager,
)

SEEDS = int(os.environ.get("LIMBODB_SOAK", "200"))
PATH = "t1.db"
PAGE_SIZE = 512


def fill(txn, pgno):
    head = txn.to_bytes(4, "big") + pgno.to_bytes(4, "big")
    return head + bytes([txn % 251]) * (PAGE_SIZE - 8)


def open_pager(io):
    db = Database.open(io, PATH)
    run_sync(io, db.open)
    return Pager(db)


def forget(io):
    """Drop the registry entry of a Database whose backend lost power."""
    for key, db in list(Database._registry.items()):
        if db.io is io:
            del Database._registry[key]


class Workload:
    """Runs transactions on one SimulatedIO and records each committed state."""

    def __init__(self, seed, io):
        self.rng = random.Random(seed)
        self.io = io
        self.committed = (0, 0, {})  # (db_size, freelist_count, {pgno: txn}) after the last commit
        self.in_flight = None   # the state a running commit would publish
        self.live = {}
        self.errors = 0

    def run(self, ntx, tolerate_errors=False):
        """Run ``ntx`` transactions; with ``tolerate_errors``, an I/O error rolls the
        transaction back and the run goes on (the connections stay open at the end)."""
        io, rng = self.io, self.rng
        for _ in range(100):
            try:
                pager = open_pager(io)
                break
            except IOError_:
                if not tolerate_errors:
                    raise
        pager.set_page_size(PAGE_SIZE)
        pager.set_wal_autocheckpoint(rng.choice([0, 4, 12]))
        reader = Pager(pager.db)
        self.live = {}
        for txn in range(1, ntx + 1):
            try:
                self._transaction(txn, pager, reader)
            except IOError_:
                if not tolerate_errors:
                    raise
                self.errors += 1
                pager.rollback()
                if reader.tx_state:
                    reader.end_read_tx()
        if tolerate_errors:
            return
        if reader.tx_state:
            reader.end_read_tx()
        run_sync(io, reader.close)
        run_sync(io, pager.close)

    def _transaction(self, txn, pager, reader):
        io, rng = self.io, self.rng
        if rng.random() < 0.3:
            reader.end_read_tx() if reader.tx_state else run_sync(io, reader.begin_read_tx)
        run_sync(io, pager.begin_write_tx)
        model = dict(self.live)
        for _ in range(rng.randint(1, 6)):
            action = rng.random()
            if action < 0.45 or not model:
                page = run_sync(io, pager.allocate_page)
            elif action < 0.6:
                pgno = rng.choice(sorted(model))
                run_sync(io, pager.free_page, pgno)
                del model[pgno]
                continue
            else:
                page = run_sync(io, pager.read_page, rng.choice(sorted(model)))
                pager.mark_dirty(page)
            page.data[:] = fill(txn, page.pgno)
            model[page.pgno] = txn
        if rng.random() < 0.15:
            pager.rollback()
            return
        state = (pager.db_size, pager.header_field("freelist_count"), model)
        self.in_flight = state
        run_sync(io, pager.commit)
        self.committed, self.in_flight, self.live = state, None, model
        if rng.random() < 0.2:
            mode = rng.choice([CHECKPOINT_PASSIVE, CHECKPOINT_FULL, CHECKPOINT_RESTART,
                               CHECKPOINT_TRUNCATE])
            run_sync(io, pager.checkpoint, mode)


def read_state(io):
    pager = open_pager(io)
    run_sync(io, pager.begin_read_tx)
    size = pager.db_size
    nfree = pager.header_field("freelist_count") if size else 0
    pages = {p: bytes(run_sync(io, pager.read_page, p).data) for p in range(2, size + 1)}
    free = set()
    trunk = pager.header_field("freelist_trunk") if size else 0
    while trunk:
        free.add(trunk)
        data = pages[trunk]
        k = int.from_bytes(data[4:8], "big")
        free.update(int.from_bytes(data[8 + 4 * i:12 + 4 * i], "big") for i in range(k))
        trunk = int.from_bytes(data[:4], "big")
    pager.end_read_tx()
    run_sync(io, pager.close)
    return size, nfree, pages, free


def matches(found, state):
    size, nfree, pages, free = found
    exp_size, exp_free, model = state
    # Before the first commit's frames, the file may hold just an empty page 1.
    if (size != exp_size and (exp_size, size) != (0, 1)) or nfree != exp_free or len(free) != nfree:
        return False
    if free & set(model) or free | set(model) | {1} != set(range(1, size + 1)) and size:
        return False
    return all(pages[p] == fill(txn, p) for p, txn in model.items())


@pytest.mark.parametrize("seed", range(SEEDS))
def test_power_loss_keeps_every_committed_transaction_and_no_other(seed):
    rng = random.Random(seed * 7919)
    ntx = rng.randint(3, 25)
    dry = SimulatedIO(seed)
    Workload(seed, dry).run(ntx)
    forget(dry)
    target = rng.randrange(dry.op_count)
    mode = rng.choice(["power_loss", "power_loss_torn"])
    io = SimulatedIO(seed, fail_at={target: mode})
    work = Workload(seed, io)
    with pytest.raises(PowerLossError):
        work.run(ntx)
    forget(io)
    after = io.after_power_loss()
    found = read_state(after)
    forget(after)
    ok = matches(found, work.committed) or (work.in_flight is not None and matches(found, work.in_flight))
    assert ok, (f"seed {seed}: power lost at op {target} ({mode}); found size {found[0]}, "
                f"expected {work.committed[0]} or in-flight {work.in_flight and work.in_flight[0]}")


@pytest.mark.parametrize("seed", range(max(1, SEEDS // 6)))
def test_reopen_after_clean_run_has_the_final_state(seed):
    rng = random.Random(seed)
    io = SimulatedIO(seed)
    work = Workload(seed, io)
    work.run(rng.randint(5, 30))
    forget(io)
    assert matches(read_state(io), work.committed)
    assert "t1.db-wal" not in io.files


@pytest.mark.parametrize("seed", range(max(1, SEEDS // 4)))
def test_io_errors_roll_back_and_leave_the_last_committed_state(seed):
    io = SimulatedIO(seed, error_rate=0.04)
    work = Workload(seed, io)
    work.run(30, tolerate_errors=True)
    forget(io)
    io.power_loss("lose")
    after = io.after_power_loss()
    assert matches(read_state(after), work.committed)
    forget(after)


def steps(fn, *args):
    """Generator form of a re-entrant call: yields while it waits, returns its value."""
    while True:
        r = fn(*args)
        if r.__class__.__name__ != "IO":
            return r
        yield


def writer_task(io, pager, rng, history, ntx):
    for txn in range(1, ntx + 1):
        yield from steps(pager.begin_write_tx)
        state = dict(history[-1])
        pgnos = [p for p in state if rng.random() < 0.3]
        for _ in range(rng.randint(0 if pgnos else 1, 3)):
            page = yield from steps(pager.allocate_page)
            pgnos.append(page.pgno)
        for pgno in set(pgnos):
            page = yield from steps(pager.read_page, pgno)
            pager.mark_dirty(page)
            page.data[:] = fill(txn, pgno)
            state[pgno] = txn
        # Listed before commit() runs: it publishes, then may wait in its autocheckpoint.
        history.append(state)
        yield from steps(pager.commit)


def reader_task(io, pager, rng, history, done, seen):
    last = 0
    while not done:
        yield from steps(pager.begin_read_tx)
        found = {}
        for pgno in range(2, pager.db_size + 1):
            page = yield from steps(pager.read_page, pgno)
            found[pgno] = int.from_bytes(page.data[:4], "big")
            if rng.random() < 0.5:
                yield  # hold the snapshot while the writer and checkpointer go on
        pager.end_read_tx()
        states = [{p: t for p, t in h.items()} for h in history]
        assert found in states, f"snapshot {found} is no committed state"
        index = max(i for i, s in enumerate(states) if s == found)
        assert index >= last or states[index] == states[last]
        last = index
        seen.append(index)
        yield


def checkpoint_task(io, pager, rng, done, results):
    while not done:
        mode = rng.choice([CHECKPOINT_PASSIVE, CHECKPOINT_FULL, CHECKPOINT_RESTART, CHECKPOINT_TRUNCATE])
        results.append((yield from steps(pager.checkpoint, mode)))
        yield


@pytest.mark.parametrize("seed", range(max(1, SEEDS // 8)))
def test_interleaved_commits_checkpoints_and_readers_see_only_committed_snapshots(seed):
    rng = random.Random(seed)
    io = SimulatedIO(seed)
    writer = open_pager(io)
    writer.set_page_size(PAGE_SIZE)
    writer.set_wal_autocheckpoint(rng.choice([0, 3, 8]))
    readers = [Pager(writer.db) for _ in range(2)]
    checkpointer = Pager(writer.db)
    history = [{}]
    done = []
    seen = []
    results = []
    main = writer_task(io, writer, rng, history, rng.randint(10, 30))
    others = [reader_task(io, r, rng, history, done, seen) for r in readers]
    others.append(checkpoint_task(io, checkpointer, rng, done, results))
    tasks = [main] + others
    while tasks:
        for task in list(tasks):
            try:
                next(task)
            except StopIteration:
                tasks.remove(task)
                if task is main:
                    done.append(True)
        io.run_once()
    assert len(seen) > 3 and len(results) > 1
    final = read_pages_after_close(io, [writer, checkpointer] + readers)
    assert final == history[-1]


def read_pages_after_close(io, pagers):
    for p in pagers:
        run_sync(io, p.close)
    forget(io)
    pager = open_pager(io)
    run_sync(io, pager.begin_read_tx)
    found = {p: int.from_bytes(run_sync(io, pager.read_page, p).data[:4], "big")
             for p in range(2, pager.db_size + 1)}
    pager.end_read_tx()
    run_sync(io, pager.close)
    forget(io)
    return found
