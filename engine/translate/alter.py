"""ALTER TABLE: RENAME TO, RENAME COLUMN, ADD COLUMN, DROP COLUMN.

SQLite edits the stored CREATE text of every dependent object token by token
(sqlite_rename_table, sqlite_rename_column, sqlite_drop_column) instead of
regenerating it, so comments and spelling survive; this module does the same
on limbodb's tokenizer, at prepare time, and emits a program that rewrites the
changed sqlite_schema rows (and, for DROP COLUMN, every row of the table),
bumps the schema cookie and reloads the schema. Which tokens name the table or
the column is decided from their syntactic position (after FROM, JOIN, INTO,
UPDATE, ON, REFERENCES; qualified ``t.c``; column lists of the table's own
definition), not from full name resolution.
Mirrors sqlite src/alter.c (sqlite3AlterRenameTable, sqlite3AlterRenameColumn,
sqlite3AlterFinishAddColumn, sqlite3AlterDropColumn).
"""

from limbodb.errors import SQLITE_ERROR, OperationalError
from limbodb.parser import ast, parse_one
from limbodb.parser.lexer import SPACES, tokenize
from limbodb.parser.tokens import (
    TK_AS, TK_CHECK, TK_COLLATE, TK_COMMA, TK_CONSTRAINT, TK_DEFAULT, TK_DOT, TK_EOF, TK_FOREIGN,
    TK_FROM, TK_GENERATED, TK_GROUP, TK_HAVING, TK_ID, TK_INTO, TK_JOIN, TK_LIMIT, TK_LP, TK_NOT,
    TK_NULL, TK_ON, TK_ORDER, TK_PRIMARY, TK_REFERENCES, TK_RETURNING, TK_RP, TK_SELECT, TK_SET,
    TK_SEMI, TK_STRING, TK_TABLE, TK_UNIQUE, TK_UPDATE, TK_USING, TK_VALUES, TK_WHERE,
)
from limbodb.schema import HIDDEN_STORED, HIDDEN_VIRTUAL, build_table
from limbodb.translate import cdc
from limbodb.translate.expr import Source
from limbodb.translate.schema import _ddl_builder, _finish_ddl
from limbodb.translate.trigger import rebind_temp_triggers
from limbodb.translate.generated import stored_columns
from limbodb.translate.without_rowid import pk_index, record_columns
from limbodb.vdbe.insn import (
    OE_ABORT, OP_Column, OP_Delete, OP_Goto, OP_Halt, OP_IdxInsert, OP_Insert, OP_MakeRecord, OP_Ne,
    OP_Next, OP_OpenRead, OP_OpenWrite, OP_Rewind, OP_Rowid, OP_String8,
)

# Keywords after which a name is a table (FROM t, JOIN t, INTO t, UPDATE t, ON t, REFERENCES t).
_TABLE_POSITION = frozenset((TK_FROM, TK_JOIN, TK_INTO, TK_UPDATE, TK_ON, TK_REFERENCES))
# Keywords that open a clause; a comma in a FROM clause precedes another table.
_CLAUSES = frozenset((TK_SELECT, TK_FROM, TK_WHERE, TK_GROUP, TK_HAVING, TK_ORDER, TK_LIMIT, TK_SET,
                      TK_VALUES, TK_ON, TK_USING, TK_RETURNING))
# What starts a table constraint inside CREATE TABLE's parentheses.
_TABLE_CONSTRAINT = frozenset((TK_CONSTRAINT, TK_PRIMARY, TK_UNIQUE, TK_CHECK, TK_FOREIGN))
# What ends a column's type name.
_COLUMN_CONSTRAINT = frozenset((TK_CONSTRAINT, TK_PRIMARY, TK_UNIQUE, TK_CHECK, TK_DEFAULT, TK_NOT,
                                TK_NULL, TK_COLLATE, TK_REFERENCES, TK_GENERATED, TK_AS))


def _is_name(tok, lname):
    """True when ``tok`` is an identifier (quoted or a keyword used as one) spelling ``lname``."""
    t = tok[0]
    return t != TK_STRING and t != TK_EOF and tok[1].__class__ is str and tok[1].lower() == lname


def _quoted(name):
    return '"' + name.replace('"', '""') + '"'


def _edit(sql, toks, new, always_quote):
    """``sql`` with each token in ``toks`` replaced by ``new`` (renameEditSql's quoting rule)."""
    out = []
    pos = 0
    for tok in sorted(toks, key=lambda t: t[2]):
        out.append(sql[pos:tok[2]])
        # A token written bare stays bare unless the ALTER statement quoted the new name.
        bare = not always_quote and sql[tok[2]] not in "\"'[`"
        out.append(new if bare else _quoted(new))
        pos = tok[3]
    out.append(sql[pos:])
    return "".join(out)


# ---------------------------------------------------------------- token scans

def _table_refs(toks, lname, schemas=("main", "temp")):
    """Tokens of ``toks`` naming table ``lname``: table positions, qualifiers of ``t.c``, and
    names qualified by one of ``schemas``."""
    found = []
    clause = [None]
    for i, tok in enumerate(toks):
        t = tok[0]
        if t == TK_LP:
            clause.append(None)
            continue
        if t == TK_RP:
            if len(clause) > 1:
                clause.pop()
            continue
        if t in _CLAUSES:
            clause[-1] = t
        if i == 0 or not _is_name(tok, lname):
            continue
        prev = toks[i - 1][0]
        nxt = toks[i + 1][0] if i + 1 < len(toks) else TK_EOF
        if prev in _TABLE_POSITION or (prev == TK_TABLE and i <= 4) or \
                (prev == TK_COMMA and clause[-1] == TK_FROM) or \
                (nxt == TK_DOT and prev != TK_DOT) or \
                (prev == TK_DOT and i >= 2 and toks[i - 2][1].__class__ is str
                 and toks[i - 2][1].lower() in schemas):
            found.append(tok)
    return found


def _aliases(toks, lname):
    """Names ``t`` is known by in a statement: itself and ``FROM t [AS] x`` aliases."""
    names = {lname}
    for i, tok in enumerate(toks[:-1]):
        if i and toks[i - 1][0] in _TABLE_POSITION and _is_name(tok, lname):
            j = i + 1
            if toks[j][0] == TK_AS:
                j += 1
            if toks[j][0] == TK_ID:
                names.add(toks[j][1].lower())
    return names


def _column_refs(toks, lcol, qualifiers, own_table=None):
    """Tokens referring to column ``lcol`` as ``(token, context, qualifier_text)``.

    Unqualified references count everywhere outside names of other things
    (aliases, collations, constraint names, types, tables); a qualified one
    counts when its qualifier is in ``qualifiers``. ``own_table`` (lowercased)
    is given when ``toks`` is that table's CREATE TABLE: column names of its
    definitions count, type names do not, and REFERENCES lists count only when
    they name the table itself. Context is "fk" inside FOREIGN KEY(...), else "".
    """
    found = []
    depth = 0
    at_def = False          # next token starts a column definition or table constraint
    in_type = False         # inside a column's type name
    refs_depth = None       # depth of a REFERENCES x(...) list that names another table
    fk_depth = None         # depth of a FOREIGN KEY (...) child column list
    for i, tok in enumerate(toks):
        t = tok[0]
        prev = toks[i - 1][0] if i else TK_EOF
        if t == TK_LP:
            depth += 1
            if own_table is not None and depth == 1 and refs_depth is None and fk_depth is None:
                at_def = True
            if i >= 2 and toks[i - 2][0] == TK_FOREIGN:
                fk_depth = depth
            if i >= 2 and toks[i - 2][0] == TK_REFERENCES and not (
                    own_table is not None and _is_name(toks[i - 1], own_table)):
                refs_depth = depth
            in_type = False
            continue
        if t == TK_RP:
            if depth == refs_depth:
                refs_depth = None
            if depth == fk_depth:
                fk_depth = None
            depth -= 1
            continue
        if own_table is not None and depth == 1:
            if t == TK_COMMA:
                at_def = True
                in_type = False
                continue
            if at_def:
                at_def = False
                if t not in _TABLE_CONSTRAINT:
                    if _is_name(tok, lcol):
                        found.append((tok, "", None))
                    in_type = True
                    continue
            if in_type:
                if t in _COLUMN_CONSTRAINT:
                    in_type = False
                else:
                    continue
        if refs_depth is not None or not _is_name(tok, lcol):
            continue
        if prev in (TK_COLLATE, TK_CONSTRAINT, TK_AS, TK_TABLE) or prev in _TABLE_POSITION:
            continue
        if i + 1 < len(toks) and toks[i + 1][0] in (TK_DOT, TK_LP):
            continue
        qual = None
        if prev == TK_DOT:
            qual = toks[i - 2][1] if i >= 2 else ""
            if qual.__class__ is not str or qual.lower() not in qualifiers:
                continue
        found.append((tok, "fk" if fk_depth is not None and depth == fk_depth else "", qual))
    return found


def _columns_span(toks):
    """(index of the '(' opening the column list, index of addColOffset's token).

    addColOffset is where SQLite splices an added column: the comma before
    the first table constraint, else the closing parenthesis.
    """
    start = next(i for i, tok in enumerate(toks) if tok[0] == TK_LP)
    depth = 0
    for i in range(start, len(toks)):
        t = toks[i][0]
        if t == TK_LP:
            depth += 1
        elif t == TK_RP:
            depth -= 1
            if depth == 0:
                return start, i
        elif t == TK_COMMA and depth == 1 and toks[i + 1][0] in _TABLE_CONSTRAINT:
            return start, i
    raise OperationalError("malformed CREATE TABLE")


def _column_def_starts(toks):
    """Token indexes of each column definition's name in a CREATE TABLE."""
    start, end = _columns_span(toks)
    starts = [start + 1]
    depth = 0
    for i in range(start, end):
        t = toks[i][0]
        if t == TK_LP:
            depth += 1
        elif t == TK_RP:
            depth -= 1
        elif t == TK_COMMA and depth == 1:
            starts.append(i + 1)
    return starts


# ---------------------------------------------------------------- entry point

def translate_alter_table(stmt, conn, outer=None):
    """``outer``: the connection whose temp database may name the table, when ``conn`` is an
    attached database's own (translate/attach.py ddl_elsewhere)."""
    from limbodb.translate.attach import ddl_elsewhere
    prog = ddl_elsewhere(stmt, conn, translate_alter_table)
    if prog is not None:
        return prog
    if outer is None and conn.db_index == 0:
        outer = conn
    s = conn.schema
    name = stmt.table
    lname = name.lower()
    table = s.tables.get(lname)
    if table is None:
        if lname in s.views:
            view_msg = {
                "RENAME": f"view {s.views[lname].name} may not be altered",
                "ADD COLUMN": "Cannot add a column to a view",
                "RENAME COLUMN": f'cannot rename columns of view "{s.views[lname].name}"',
                "DROP COLUMN": f'cannot drop column from view "{s.views[lname].name}"',
            }
            raise OperationalError(view_msg[stmt.action])
        raise OperationalError(f"no such table: {name}")
    if lname.startswith("sqlite_"):
        raise OperationalError(f"table {table.name} may not be altered")
    action = stmt.action
    if action == "RENAME":
        return _rename_table(stmt, conn, table, outer)
    if action == "RENAME COLUMN":
        return _rename_column(stmt, conn, table, outer)
    if action == "ADD COLUMN":
        return _add_column(stmt, conn, table, outer)
    return _drop_column(stmt, conn, table, outer)


def _schema_objects(s):
    """(type, name, tbl_name, sql) of every schema object with SQL text, tables first."""
    out = [("table", t.name, t.name, t.sql) for t in s.tables.values() if t.sql]
    out += [("index", i.name, i.table, i.sql) for i in s.indexes.values() if i.sql]
    out += [("view", v.name, v.name, v.sql) for v in s.views.values()]
    out += [("trigger", tr.name, tr.table, tr.sql) for tr in s.triggers.values()]
    return out


def _rewrite_rows(b, cur, edits, before_write=None):
    """Rewrite sqlite_schema rows: ``edits`` maps a lowercased name to (name, tbl_name, sql);
    ``before_write(b, cur, first, rowid)`` emits code run before each rewrite (change data capture)."""
    if not edits:
        return
    name_reg = b.alloc_reg()
    key = b.alloc_reg()
    first = b.alloc_reg(5)
    rec = b.alloc_reg()
    rowid = b.alloc_reg()
    done = b.new_label()
    b.emit(OP_Rewind, cur, done)
    top = b.addr
    b.emit(OP_Column, cur, 1, name_reg)
    nxt = b.new_label()
    for lname, (new_name, new_tbl, new_sql) in edits.items():
        skip = b.new_label()
        b.emit(OP_String8, 0, key, 0, lname)
        b.emit(OP_Ne, key, skip, name_reg, "NOCASE", 0x10)
        b.emit(OP_Column, cur, 0, first)
        b.emit(OP_String8, 0, first + 1, 0, new_name)
        b.emit(OP_String8, 0, first + 2, 0, new_tbl)
        b.emit(OP_Column, cur, 3, first + 3)
        if new_sql is None:
            b.emit(OP_Column, cur, 4, first + 4)
        else:
            b.emit(OP_String8, 0, first + 4, 0, new_sql)
        b.emit(OP_MakeRecord, first, 5, rec)
        b.emit(OP_Rowid, cur, rowid)
        if before_write is not None:
            before_write(b, cur, first, rowid)
        b.emit(OP_Insert, cur, rec, rowid)
        b.emit(OP_Goto, 0, nxt)
        b.resolve(skip)
    b.resolve(nxt)
    b.emit(OP_Next, cur, top)
    b.resolve(done)


# ---------------------------------------------------------------- RENAME TO

def _temp_rename_edits(outer, db, old, new):
    """RENAME of table ``old`` of database ``db`` (main or attached): temp's triggers and views
    naming it, rewritten (sqlite3AlterRenameTable's UPDATE of sqlite_temp_schema). A name
    counts when qualified by ``db``'s name, or unqualified where it resolves to ``db``."""
    from limbodb.attach import TEMP
    from limbodb.translate.trigger import _first_holder, _temp_triggers_on
    ts = outer.dbs[TEMP].schema
    lold = old.lower()
    schema_name = outer.dbs[db].db_name.lower()
    bare_here = lold not in ts.tables and lold not in ts.views and _first_holder(outer, lold) == db
    # SQLite's ALTER parses each temp trigger afresh: its ON clause resolves by the search
    # order, whatever the trigger was bound to (sqlite_rename_table, sqlite_rename_test).
    on_table = {t.name.lower() for t in _temp_triggers_on(outer, lold, db, bound=False)}
    edits = {}
    for kind, name, tbl, sql in _schema_objects(ts):
        if kind != "view" and kind != "trigger":
            continue
        toks = tokenize(sql)
        at = {tok[2]: i for i, tok in enumerate(toks)}
        refs = []
        for tok in _table_refs(toks, lold, (schema_name,)):
            i = at[tok[2]]
            qualified = i >= 2 and toks[i - 1][0] == TK_DOT
            if (toks[i - 2][1].lower() == schema_name) if qualified else bare_here:
                refs.append(tok)
        own = name.lower() in on_table and kind == "trigger"
        if refs or own:
            edits[name.lower()] = (name, new if own else tbl, _edit(sql, refs, new, True) if refs else sql)
    return edits


def _rename_table(stmt, conn, table, outer=None):
    s = conn.schema
    new = stmt.new_name
    lnew = new.lower()
    if lnew in s.tables or lnew in s.indexes or lnew in s.views:
        raise OperationalError(f"there is already another table or index with this name: {new}")
    if lnew.startswith("sqlite_"):
        raise OperationalError(f"object name reserved for internal use: {new}")
    old = table.name
    lold = old.lower()
    edits = {}
    for kind, name, tbl, sql in _schema_objects(s):
        if kind == "index" and tbl.lower() != lold:
            continue
        toks = tokenize(sql)
        refs = _table_refs(toks, lold)
        if kind == "table" and name.lower() != lold:
            # Another table only refers to this one through REFERENCES.
            refs = [tok for i, tok in enumerate(toks) if tok in refs and toks[i - 1][0] == TK_REFERENCES]
        own = kind != "view" and tbl.lower() == lold
        if not refs and not own:
            continue
        new_sql = _edit(sql, refs, new, True) if refs else sql
        if kind == "table" and name.lower() == lold:
            edits[name.lower()] = (new, new, new_sql)
        else:
            edits[name.lower()] = (name, new if own else tbl, new_sql)
    for idx in table.indexes:
        if idx.sql is None:
            suffix = idx.name[len("sqlite_autoindex_") + len(old):]
            edits[idx.name.lower()] = ("sqlite_autoindex_" + new + suffix, new, None)
    b, cur = _ddl_builder(conn)
    _rewrite_rows(b, cur, edits)
    temp_edits = None
    if outer is not None and outer.dbs[1] is not None:
        temp_edits = _temp_rename_edits(outer, conn.db_index, old, new)
        if temp_edits:
            from limbodb.translate.trigger import finish_temp_schema, open_temp_schema
            _rewrite_rows(b, open_temp_schema(b, outer), temp_edits)
            finish_temp_schema(b, outer)
    rebind_temp_triggers(b, outer, conn.db_index, (lold, lnew), temp_edits)
    seq = s.tables.get("sqlite_sequence")
    if seq is not None:
        seq_cur = b.alloc_cursor()
        b.emit(OP_OpenWrite, seq_cur, seq.root, 0, 2)
        _rename_sequence(b, seq_cur, old, new)
    return _finish_ddl(b, conn)


def _rename_sequence(b, cur, old, new):
    """UPDATE sqlite_sequence SET name = new WHERE name = old."""
    want = b.alloc_reg()
    got = b.alloc_reg()
    first = b.alloc_reg(2)
    rec = b.alloc_reg()
    rowid = b.alloc_reg()
    b.emit(OP_String8, 0, want, 0, old)
    done = b.new_label()
    b.emit(OP_Rewind, cur, done)
    top = b.addr
    skip = b.new_label()
    b.emit(OP_Column, cur, 0, got)
    b.emit(OP_Ne, want, skip, got, None, 0x10)
    b.emit(OP_String8, 0, first, 0, new)
    b.emit(OP_Column, cur, 1, first + 1)
    b.emit(OP_MakeRecord, first, 2, rec)
    b.emit(OP_Rowid, cur, rowid)
    b.emit(OP_Insert, cur, rec, rowid)
    b.resolve(skip)
    b.emit(OP_Next, cur, top)
    b.resolve(done)


# ---------------------------------------------------------------- RENAME COLUMN

def _new_name_quoted(stmt):
    """Whether the ALTER statement wrote the new name quoted (renameEditSql's bQuote)."""
    toks = [tok for tok in tokenize(stmt.sql) if tok[0] not in (TK_EOF, TK_SEMI)]
    return stmt.sql[toks[-1][2]] in "\"'[`"


def _column_token_text(stmt):
    """The old column's name as written in the ALTER statement (SQLite's %T in messages)."""
    toks = [tok for tok in tokenize(stmt.sql) if tok[0] not in (TK_EOF, TK_SEMI)]
    tok = toks[-3] if stmt.action == "RENAME COLUMN" else toks[-1]
    return stmt.sql[tok[2]:tok[3]]


def _column_edits(s, table, lcol):
    """{object name: (kind, sql, [(token, context, qualifier)])} for references to column ``lcol``."""
    ltab = table.name.lower()
    out = {}
    for kind, name, tbl, sql in _schema_objects(s):
        toks = tokenize(sql)
        if kind == "table":
            if name.lower() == ltab:
                refs = _column_refs(toks, lcol, {ltab}, ltab)
            else:
                refs = _parent_key_refs(toks, ltab, lcol)
        elif kind == "index":
            if tbl.lower() != ltab:
                continue
            on = next(i for i, tok in enumerate(toks) if tok[0] == TK_ON)
            refs = _column_refs(toks[on + 2:], lcol, {ltab})
        else:
            if not _table_refs(toks, ltab) and not (kind == "trigger" and tbl.lower() == ltab):
                continue
            quals = _aliases(toks, ltab)
            if kind == "trigger" and tbl.lower() == ltab:
                quals |= {"new", "old"}
            refs = _column_refs(toks, lcol, quals)
        if refs:
            out[name.lower()] = (kind, name, sql, refs)
    return out


def _parent_key_refs(toks, ltab, lcol):
    """Columns of ``lcol`` in another table's ``REFERENCES t(...)`` lists."""
    found = []
    for i, tok in enumerate(toks):
        if tok[0] == TK_REFERENCES and i + 2 < len(toks) and _is_name(toks[i + 1], ltab) \
                and toks[i + 2][0] == TK_LP:
            j = i + 3
            while toks[j][0] not in (TK_RP, TK_EOF):
                if _is_name(toks[j], lcol):
                    found.append((toks[j], "", None))
                j += 1
    return found


def _temp_column_edits(outer, db, table, lcol, new, quote):
    """RENAME COLUMN of ``table`` in database ``db`` (main or attached): temp's triggers on the
    table, and temp triggers and views reading it where temp has no table of that name."""
    from limbodb.attach import TEMP
    from limbodb.translate.trigger import _temp_triggers_on
    ts = outer.dbs[TEMP].schema
    ltab = table.name.lower()
    on_table = {t.name.lower() for t in _temp_triggers_on(outer, ltab, db, bound=False)}
    shadowed = ltab in ts.tables or ltab in ts.views
    edits = {}
    for lname, (kind, name, sql, refs) in _column_edits(ts, table, lcol).items():
        if kind == "trigger" and lname in on_table or kind in ("trigger", "view") and not shadowed and \
                (kind == "view" or ts.triggers[lname].table.lower() != ltab):
            tbl = name if kind == "view" else ts.triggers[lname].table
            edits[lname] = (name, tbl, _edit(sql, [r[0] for r in refs], new, quote))
    return edits


def _rename_column(stmt, conn, table, outer=None):
    s = conn.schema
    i = table.column_index(stmt.column)
    if i < 0:
        raise OperationalError(f'no such column: "{_column_token_text(stmt)}"')
    new = stmt.new_name
    if table.column_index(new) not in (-1, i):
        raise OperationalError(f"error in table {table.name} after rename: duplicate column name: {new}")
    quote = _new_name_quoted(stmt)
    edits = {}
    for lname, (kind, name, sql, refs) in _column_edits(s, table, table.columns[i].name.lower()).items():
        new_sql = _edit(sql, [r[0] for r in refs], new, quote)
        tbl = {"table": name, "index": table.name, "view": name}.get(kind) or s.triggers[lname].table
        edits[lname] = (name, tbl, new_sql)
    b, cur = _ddl_builder(conn)
    _rewrite_rows(b, cur, edits)
    temp_edits = None
    if outer is not None and outer.dbs[1] is not None:
        temp_edits = _temp_column_edits(outer, conn.db_index, table, table.columns[i].name.lower(), new, quote)
        if temp_edits:
            from limbodb.translate.trigger import finish_temp_schema, open_temp_schema
            _rewrite_rows(b, open_temp_schema(b, outer), temp_edits)
            finish_temp_schema(b, outer)
    rebind_temp_triggers(b, outer, conn.db_index, None, temp_edits)
    return _finish_ddl(b, conn)


# ---------------------------------------------------------------- ADD COLUMN

def _is_constant(e):
    """sqlite3ValueFromExpr's constants: literals, signed numbers, CAST of a constant."""
    cls = e.__class__
    if cls is ast.Literal:
        return e.kind in (ast.LIT_VALUE, ast.LIT_TRUE, ast.LIT_FALSE)
    if cls is ast.Unary and e.op in ("-", "+"):
        return e.operand.__class__ is ast.Literal and e.operand.value.__class__ in (int, float)
    if cls is ast.Cast:
        return _is_constant(e.expr)
    return False


def _error_if_not_empty(b, table, msg):
    """Halt with ``msg`` when the table has a row (sqlite3ErrorIfNotEmpty)."""
    cur = b.alloc_cursor()
    b.emit(OP_OpenRead, cur, table.root, 0, 1)
    empty = b.new_label()
    b.emit(OP_Rewind, cur, empty)
    b.emit(OP_Halt, SQLITE_ERROR, OE_ABORT, 0, msg)
    b.resolve(empty)


def _add_column(stmt, conn, table, outer=None):
    cdef = stmt.column_def
    if table.column_index(cdef.name) >= 0:
        raise OperationalError(f"duplicate column name: {cdef.name}")
    cons = {c.__class__ for c in cdef.constraints}
    if ast.ColPrimaryKey in cons:
        raise OperationalError("Cannot add a PRIMARY KEY column")
    if ast.ColUnique in cons:
        raise OperationalError("Cannot add a UNIQUE column")
    toks = tokenize(table.sql)
    _, off_tok = _columns_span(toks)
    off = toks[off_tok][2]
    text = _column_def_text(stmt)
    new_sql = table.sql[:off] + ", " + text + table.sql[off:]
    # Validate the result as SQLite's reparse would (e.g. a bad REFERENCES list).
    new_table = build_table(parse_one(new_sql, 0)[0], table.root, new_sql)
    col = new_table.columns[-1]
    b, cur = _ddl_builder(conn)
    if col.generated is not None:
        if col.hidden == HIDDEN_STORED:
            _error_if_not_empty(b, table, "cannot add a STORED column")
    else:
        dflt = col.default
        if dflt is not None and dflt.__class__ is ast.Literal and dflt.kind == ast.LIT_VALUE \
                and dflt.value is None:
            dflt = None
        if col.notnull and dflt is None:
            _error_if_not_empty(b, table, "Cannot add a NOT NULL column with default value NULL")
        if dflt is not None and not _is_constant(dflt):
            _error_if_not_empty(b, table, "Cannot add a column with non-constant default")
    _rewrite_rows(b, cur, {table.name.lower(): (table.name, table.name, new_sql)},
                  cdc.schema_update_hook(cdc.capture(b, cdc.SCHEMA_TABLE), stmt.sql.rstrip(SPACES + ";")))
    rebind_temp_triggers(b, outer, conn.db_index)
    return _finish_ddl(b, conn)


def _column_def_text(stmt):
    """The column definition as written in the ALTER statement, less trailing space and ';'."""
    toks = tokenize(stmt.sql)
    i = 0
    while toks[i][0] != TK_TABLE:
        i += 1
    i += 2 if toks[i + 2][0] != TK_DOT else 4
    i += 1  # ADD
    if toks[i][1].__class__ is str and toks[i][1].upper() == "COLUMN" and toks[i][0] != TK_ID:
        i += 1
    return stmt.sql[toks[i][2]:].rstrip(SPACES + ";")


# ---------------------------------------------------------------- DROP COLUMN

def _drop_column(stmt, conn, table, outer=None):
    s = conn.schema
    i = table.column_index(stmt.column)
    if i < 0:
        raise OperationalError(f'no such column: "{_column_token_text(stmt)}"')
    col = table.columns[i]
    if col.primary_key:
        raise OperationalError(f'cannot drop PRIMARY KEY column: "{col.name}"')
    # Only a column's own UNIQUE constraint refuses here (COLFLAG_UNIQUE); a table
    # UNIQUE(...) naming it fails later, as a definition that names a missing column.
    cdef = parse_one(table.sql, 0)[0].columns[i]
    if any(c.__class__ is ast.ColUnique for c in cdef.constraints):
        raise OperationalError(f'cannot drop UNIQUE column: "{col.name}"')
    if len(table.columns) == 1:
        raise OperationalError(f'cannot drop column "{col.name}": no other columns exist')
    new_sql = _drop_column_sql(table.sql, i)
    lcol = col.name.lower()
    ltab = table.name.lower()
    refs = _column_refs(tokenize(new_sql), lcol, {ltab}, ltab)
    if refs:
        tok, context, _ = refs[0]
        if context == "fk":
            detail = f'unknown column "{tok[1]}" in foreign key definition'
        else:
            detail = f"no such column: {tok[1]}"
        raise OperationalError(f"error in table {table.name} after drop column: {detail}")
    for lname, (kind, name, _sql, refs) in _column_edits(s, table, lcol).items():
        if kind == "table":
            continue
        tok, _, qual = refs[0]
        ref = f"{qual}.{tok[1]}" if qual else tok[1]
        raise OperationalError(f"error in {kind} {name} after drop column: no such column: {ref}")
    b, cur = _ddl_builder(conn)
    _rewrite_rows(b, cur, {ltab: (table.name, table.name, new_sql)},
                  cdc.schema_update_hook(cdc.capture(b, cdc.SCHEMA_TABLE), stmt.sql.rstrip(SPACES + ";")))
    if col.hidden != HIDDEN_VIRTUAL:
        # A VIRTUAL column has nothing in the records.
        _rewrite_table_rows(b, table, i)
    rebind_temp_triggers(b, outer, conn.db_index)
    return _finish_ddl(b, conn)


def _drop_column_sql(sql, i):
    """sqlite_drop_column: cut column ``i``'s definition out of the CREATE TABLE text."""
    toks = tokenize(sql)
    starts = _column_def_starts(toks)
    begin = toks[starts[i]][2]
    if i < len(starts) - 1:
        return sql[:begin] + sql[toks[starts[i + 1]][2]:]
    end = toks[_columns_span(toks)[1]][2]
    begin = sql.rindex(",", 0, begin)
    return sql[:begin] + sql[end:]


def _rewrite_table_rows(b, table, dropped):
    """Rewrite every row of ``table`` without column ``dropped`` (defaults materialized).

    A WITHOUT ROWID row is an index entry (primary key columns first): it is
    deleted and its replacement, which sorts at the same place, inserted, so
    Next continues after it.
    """
    src = Source.for_table(table, table.name, 0)
    cur = b.alloc_cursor()
    if table.without_rowid:
        order = record_columns(table)
        b.emit(OP_OpenWrite, cur, table.root, 0, pk_index(table).key_info())
    else:
        order = stored_columns(table)
        b.emit(OP_OpenWrite, cur, table.root, 0, len(order))
    keep = [(pos, c) for pos, c in enumerate(order) if c != dropped]
    first = b.alloc_reg(len(keep))
    rec = b.alloc_reg()
    rowid = b.alloc_reg()
    done = b.new_label()
    b.emit(OP_Rewind, cur, done)
    top = b.addr
    for k, (pos, c) in enumerate(keep):
        dflt = src.col_defaults[c] if src.col_defaults is not None else None
        b.emit(OP_Column, cur, pos, first + k, dflt)
    b.emit(OP_MakeRecord, first, len(keep), rec)
    if table.without_rowid:
        b.emit(OP_Delete, cur)
        b.emit(OP_IdxInsert, cur, rec)
    else:
        b.emit(OP_Rowid, cur, rowid)
        b.emit(OP_Insert, cur, rec, rowid)
    b.emit(OP_Next, cur, top)
    b.resolve(done)
