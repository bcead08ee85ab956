"""Running a statement to its end under SimulatedIO, waiting on the I/O after each IO result."""

from limbodb.statement import DONE, IO, ROW


def run_statement(io, conn, sql):
    """(rows, how many times step() returned IO) for ``sql``, waiting on ``io`` after each IO."""
    stmt, _ = conn.prepare(sql)
    rows = []
    waits = 0
    while True:
        r = stmt.step()
        if r == ROW:
            rows.append(tuple(stmt.row()))
        elif r == IO:
            waits += 1
            c = stmt.completion
            while not c.finished():
                io.run_once()
        else:
            assert r == DONE
            break
    stmt.finalize()
    return rows, waits
