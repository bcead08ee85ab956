"""Encode/decode speed of a 5-column record: prints microseconds per operation.

Run: python tests/bench/bench_record.py
"""

import timeit

from limbodb.storage.record import KeyInfo, Record, compare_record, decode_record, encode_record

ROW = [42, 3.25, "hello world", b"\x00\x01\x02\x03", 1234567890123]
PAYLOAD = encode_record(ROW)
KEY = [42, 3.25, "hello world", b"\x00\x01\x02\x03", 1234567890124]
KEY_INFO = KeyInfo([None] * 5, [False] * 5)

CASES = [
    ("encode_record(5 cols)", lambda: encode_record(ROW)),
    ("decode_record(5 cols)", lambda: decode_record(PAYLOAD)),
    ("Record(p).column(2)", lambda: Record(PAYLOAD).column(2)),
    ("Record(p).values()", lambda: Record(PAYLOAD).values()),
    ("compare_record(5 cols, last differs)", lambda: compare_record(PAYLOAD, KEY, KEY_INFO)),
    ("compare_record(1st col differs)", lambda: compare_record(PAYLOAD, [41], KEY_INFO)),
]


def main():
    for name, fn in CASES:
        n = 100_000
        best = min(timeit.repeat(fn, number=n, repeat=5)) / n
        print(f"{name:40s} {best * 1e6:7.3f} us/op")


if __name__ == "__main__":
    main()
