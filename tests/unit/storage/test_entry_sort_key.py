"""BTreeCursor.entry_sort_key: the current index entry's cached sort key, which IdxGE/IdxGT/
IdxLE/IdxLT and an index's Rowid read instead of decoding the entry's record."""

import random

from limbodb.storage.btree import SEEK_GE
from limbodb.storage.record import KeyInfo, decode_record, encode_record, sort_key

from .btree_util import new_tree, open_pager


def _index(key_info):
    io, pager = open_pager(page_size=1024)
    root, cur = new_tree(io, pager, key_info)
    rnd = random.Random(4)
    rows = [[rnd.choice([rnd.randrange(500), "v%d" % rnd.randrange(99), None, 0.5]), i] for i in range(800)]
    for vals in rows:
        cur.insert(encode_record(vals), None, list(vals))
    return cur


def test_entry_sort_key_is_the_sort_key_of_the_entry_under_the_cursor():
    cur = _index(KeyInfo([None, None]))
    assert cur.seek([250], SEEK_GE)
    for _ in range(300):
        k = cur.cursor.entry_sort_key()
        assert k == sort_key(decode_record(cur.payload()))
        if not cur.next():
            break


def test_entry_sort_key_is_none_where_sort_keys_do_not_order_the_index():
    cur = _index(KeyInfo(["NOCASE", None]))
    assert cur.seek(["v5"], SEEK_GE)
    assert cur.cursor.entry_sort_key() is None
    desc = _index(KeyInfo([None, None], [True, False]))
    assert desc.first()
    assert desc.cursor.entry_sort_key() is None
