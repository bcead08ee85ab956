"""CREATE, DROP, ALTER and the utility statements (transactions, PRAGMA, ATTACH, ...).

The statement half of sqlite src/parse.y's grammar that does not involve
queries; a mixin of ``parser.Parser``, whose token and expression helpers
(``_advance``, ``_expect``, ``_name``, ``_expr``, ``_select`` ...) it uses. The
``sql`` text of CREATE nodes follows the rule in parser.py's docstring.
"""

from . import ast as A
from .lexer import SPACES
from .tokens import *  # noqa: F403 - the TK_* codes are this module's vocabulary
from .tokens import (ALIAS_TOKENS, CONFLICT_ACTIONS, CTIME_KW, EXPR_ID_TOKENS, JOIN_KW, NAME_TOKENS,
                     SELECT_START)

_TABLE_CONSTRAINT_START = frozenset((TK_CONSTRAINT, TK_PRIMARY, TK_UNIQUE, TK_CHECK, TK_FOREIGN))


def _strip_generated_always(type_name):
    """sqlite3AddColumn drops a trailing "GENERATED ALWAYS" (the keywords fell back
    into the type name) so ``a INT GENERATED ALWAYS AS (1)`` has type INT."""
    if len(type_name) >= 16 and type_name[-6:].lower() == "always":
        type_name = type_name[:-6].rstrip(SPACES)
        if type_name[-9:].lower() == "generated":
            type_name = type_name[:-9].rstrip(SPACES)
    return type_name


class DdlMixin:
    """Statement parsers for ``parser.Parser``; no state of their own."""

    __slots__ = ()

    def _if_not_exists(self):
        if self.t != TK_IF:
            return False
        self._advance()
        self._expect(TK_NOT)
        self._expect(TK_EXISTS)
        return True

    def _if_exists(self):
        if self.t != TK_IF:
            return False
        self._advance()
        self._expect(TK_EXISTS)
        return True

    def _create(self):
        self._advance()
        temp = self._accept(TK_TEMP)
        t = self.t
        if t == TK_TABLE:
            return self._create_table(temp)
        if t == TK_VIEW:
            return self._create_view(temp)
        if t == TK_TRIGGER:
            return self._create_trigger(temp)
        if not temp and (t == TK_INDEX or t == TK_UNIQUE):
            return self._create_index()
        if not temp and t == TK_VIRTUAL:
            return self._create_virtual_table()
        raise self._error()

    def _create_virtual_table(self):
        self._advance()
        self._expect(TK_TABLE)
        ine = self._if_not_exists()
        schema, name, name_tok = self._qualified()
        self._expect(TK_USING)
        module = self._name()
        args = None
        if self.t == TK_LP:
            # parse.y's vtabarg: any tokens, parentheses balanced; kept as text.
            self._advance()
            args = []
            start = self.tok[2]
            depth = 0
            while True:
                t = self.t
                if t == TK_EOF:
                    raise self._error()
                if depth == 0 and (t == TK_COMMA or t == TK_RP):
                    arg = self.sql[start:self.tok[2]].strip(SPACES)
                    if arg or t == TK_COMMA or args:
                        args.append(arg)
                    if t == TK_RP:
                        break
                    start = self.tok[3]
                elif t == TK_LP:
                    depth += 1
                elif t == TK_RP:
                    depth -= 1
                self._advance()
            self._advance()
        sql = "CREATE VIRTUAL TABLE " + self.sql[name_tok[2]:self.toks[self.i - 1][3]]
        return A.CreateVirtualTable(sql, ine, schema, name, module, args)

    def _create_table(self, temp):
        self._advance()
        ine = self._if_not_exists()
        schema, name, name_tok = self._qualified()
        if self._accept(TK_AS):
            select = self._select()
            return A.CreateTable(None, temp, ine, schema, name, None, None, False, False, select)
        self._expect(TK_LP)
        columns = [self._column_def()]
        constraints = []
        while self._accept(TK_COMMA):
            if self.t in _TABLE_CONSTRAINT_START:
                cname = None
                while True:
                    # A bare CONSTRAINT name is a constraint of its own in parse.y; the
                    # name goes to the next constraint unless a comma comes first.
                    if self._accept(TK_CONSTRAINT):
                        cname = self._name()
                    else:
                        constraints.append(self._table_constraint(cname))
                        cname = None
                    if self.t == TK_RP:
                        break
                    # parse.y's tconscomma: commas between table constraints are optional.
                    if self._accept(TK_COMMA):
                        cname = None
                break
            columns.append(self._column_def())
        self._expect(TK_RP)
        without_rowid = strict = False
        # parse.y's table_option_set may even start with a comma.
        if self.t == TK_WITHOUT or self.t in NAME_TOKENS or self.t == TK_COMMA:
            self._accept(TK_COMMA)
            while True:
                tok = self.tok
                without = self._accept(TK_WITHOUT)
                option_tok = self.tok
                option = self._name().lower()
                if without and option == "rowid":
                    without_rowid = True
                elif not without and option == "strict":
                    strict = True
                else:
                    text = self.sql[option_tok[2]:option_tok[3]]
                    self._defer(f"unknown table option: {text}", tok)
                if not self._accept(TK_COMMA):
                    break
        sql = "CREATE TABLE " + self.sql[name_tok[2]:self.toks[self.i - 1][3]]
        return A.CreateTable(sql, temp, ine, schema, name, columns, constraints, without_rowid,
                             strict, None)

    def _column_def(self):
        name = self._name()
        type_name = _strip_generated_always(self._type_name())
        constraints = []
        cname = None
        while True:
            t = self.t
            if t == TK_CONSTRAINT:
                self._advance()
                cname = self._name()
                continue
            if t == TK_PRIMARY:
                self._advance()
                self._expect(TK_KEY)
                desc = False
                if self._accept(TK_DESC):
                    desc = True
                else:
                    self._accept(TK_ASC)
                conflict = self._on_conflict()
                autoinc = self._accept(TK_AUTOINCREMENT)
                constraints.append(A.ColPrimaryKey(cname, desc, conflict, autoinc))
            elif t == TK_DEFERRABLE or (t == TK_NOT and self._peek(1)[0] == TK_DEFERRABLE):
                # A lone defer clause applies to the column's last REFERENCES, if any.
                deferred = self._defer_subclause()
                for c in reversed(constraints):
                    if c.__class__ is A.ColReferences:
                        c.fk.deferred = deferred
                        break
            elif t == TK_NOT:
                self._advance()
                self._expect(TK_NULL)
                constraints.append(A.ColNotNull(cname, self._on_conflict()))
            elif t == TK_NULL:
                self._advance()
                self._on_conflict()
            elif t == TK_UNIQUE:
                self._advance()
                constraints.append(A.ColUnique(cname, self._on_conflict()))
            elif t == TK_CHECK:
                self._advance()
                expr, text = self._check_body()
                constraints.append(A.ColCheck(cname, expr, text))
            elif t == TK_DEFAULT:
                self._advance()
                constraints.append(self._default(cname))
            elif t == TK_COLLATE:
                self._advance()
                if self.t not in ALIAS_TOKENS:
                    raise self._error()
                constraints.append(A.ColCollate(cname, self._advance()[1]))
            elif t == TK_REFERENCES:
                constraints.append(A.ColReferences(cname, self._references()))
            elif t == TK_GENERATED or t == TK_AS:
                constraints.append(self._generated(cname, name))
            else:
                return A.ColumnDef(name, type_name, constraints)
            cname = None

    def _check_body(self):
        """``(expr)`` of a CHECK -> (expr, the text between the parentheses less outer
        spaces, which SQLite names an unnamed check by in "CHECK constraint failed: ...")."""
        lp = self._expect(TK_LP)
        expr = self._expr()
        rp = self._expect(TK_RP)
        return expr, self.sql[lp[3]:rp[2]].strip(SPACES)

    def _on_conflict(self):
        if self.t != TK_ON:
            return None
        self._advance()
        self._expect(TK_CONFLICT)
        action = CONFLICT_ACTIONS.get(self.t)
        if action is None:
            raise self._error()
        self._advance()
        return action

    def _default(self, cname):
        tok = self.tok
        t = tok[0]
        if t == TK_LP:
            self._advance()
            expr = self._expr()
            end = self._expect(TK_RP)[2]
            # SQLite keeps everything between the parentheses, comments too, less outer spaces.
            return A.ColDefault(cname, expr, self.sql[tok[3]:end].strip(SPACES))
        if t == TK_PLUS or t == TK_MINUS:
            self._advance()
            term = self._term()
            if t == TK_MINUS:
                if term is self.overflow:
                    term = A.Literal(-(1 << 63))
                else:
                    term = A.Unary("-", term)
            else:
                term = A.Unary("+", term)
        elif t in CTIME_KW:
            term = self._term()
        elif t in EXPR_ID_TOKENS and t not in JOIN_KW:
            self._advance()
            value = tok[1]
            if t == TK_ID and self.sql[tok[2]] not in "\"[`" and value.lower() in ("true", "false"):
                term = A.Literal(1, A.LIT_TRUE) if value.lower() == "true" else A.Literal(0, A.LIT_FALSE)
            else:
                # parse.y: DEFAULT id is the string 'id'.
                term = A.Literal(value)
        else:
            term = self._term()
        return A.ColDefault(cname, term, self.sql[tok[2]:self.toks[self.i - 1][3]])

    def _generated(self, cname, column):
        if self._accept(TK_GENERATED):
            self._expect(TK_ALWAYS)
        self._expect(TK_AS)
        self._expect(TK_LP)
        expr = self._expr()
        self._expect(TK_RP)
        stored = False
        if self.t in ALIAS_TOKENS and self.t != TK_STRING:
            tok = self._advance()
            if tok[1].lower() == "stored":
                stored = True
            elif tok[1].lower() != "virtual":
                self._defer(f'error in generated column "{column}"', tok)
        return A.ColGenerated(cname, expr, stored)

    def _references(self, in_table=False):
        self._expect(TK_REFERENCES)
        table = self._name()
        columns = self._name_list(True) if self.t == TK_LP else None
        fk = A.ForeignKey(table, columns, None, None, None, False)
        while True:
            if self.t == TK_ON:
                self._advance()
                if self._accept(TK_DELETE):
                    fk.on_delete = self._fk_action()
                elif self._accept(TK_INSERT):
                    # parse.y accepts ON INSERT and ignores it.
                    self._fk_action()
                else:
                    self._expect(TK_UPDATE)
                    fk.on_update = self._fk_action()
            elif self.t == TK_MATCH:
                self._advance()
                fk.match = self._name()
            else:
                break
        # In a column, NOT may start the next constraint (NOT NULL) instead.
        if self.t == TK_DEFERRABLE or (self.t == TK_NOT and (in_table or self._peek(1)[0] == TK_DEFERRABLE)):
            fk.deferred = self._defer_subclause()
        return fk

    def _defer_subclause(self):
        """``[NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE]``: True if deferred."""
        negated = self._accept(TK_NOT)
        self._expect(TK_DEFERRABLE)
        deferred = False
        if self._accept(TK_INITIALLY):
            if self._accept(TK_DEFERRED):
                deferred = True
            else:
                self._expect(TK_IMMEDIATE)
        return deferred and not negated

    def _fk_action(self):
        t = self.t
        if t == TK_SET:
            self._advance()
            if self._accept(TK_NULL):
                return "SET NULL"
            self._expect(TK_DEFAULT)
            return "SET DEFAULT"
        if t == TK_CASCADE:
            self._advance()
            return "CASCADE"
        if t == TK_RESTRICT:
            self._advance()
            return "RESTRICT"
        self._expect(TK_NO)
        self._expect(TK_ACTION)
        return "NO ACTION"

    def _table_constraint(self, cname):
        t = self.t
        if t == TK_PRIMARY:
            self._advance()
            self._expect(TK_KEY)
            self._expect(TK_LP)
            columns = self._ordering_terms()
            autoinc = self._accept(TK_AUTOINCREMENT)
            self._expect(TK_RP)
            return A.TablePrimaryKey(cname, columns, self._on_conflict(), autoinc)
        if t == TK_UNIQUE:
            self._advance()
            self._expect(TK_LP)
            columns = self._ordering_terms()
            self._expect(TK_RP)
            return A.TableUnique(cname, columns, self._on_conflict())
        if t == TK_CHECK:
            self._advance()
            expr, text = self._check_body()
            self._on_conflict()
            return A.TableCheck(cname, expr, text)
        self._expect(TK_FOREIGN)
        self._expect(TK_KEY)
        columns = self._name_list(True)
        return A.TableForeignKey(cname, columns, self._references(True))

    def _create_index(self):
        unique = self._accept(TK_UNIQUE)
        self._expect(TK_INDEX)
        ine = self._if_not_exists()
        schema, name, name_tok = self._qualified()
        self._expect(TK_ON)
        table = self._name()
        self._expect(TK_LP)
        columns = self._ordering_terms()
        self._expect(TK_RP)
        where = self._expr() if self._accept(TK_WHERE) else None
        head = "CREATE UNIQUE INDEX " if unique else "CREATE INDEX "
        sql = head + self.sql[name_tok[2]:self.tok[2]]
        return A.CreateIndex(sql, unique, ine, schema, name, table, columns, where)

    def _create_view(self, temp):
        self._advance()
        ine = self._if_not_exists()
        schema, name, name_tok = self._qualified()
        columns = self._name_list(True) if self.t == TK_LP else None
        self._expect(TK_AS)
        select = self._select()
        sql = "CREATE VIEW " + self.sql[name_tok[2]:self.tok[2]].rstrip(SPACES)
        return A.CreateView(sql, temp, ine, schema, name, columns, select)

    def _create_trigger(self, temp):
        self._advance()
        ine = self._if_not_exists()
        schema, name, name_tok = self._qualified()
        time = None
        if self._accept(TK_BEFORE):
            time = "BEFORE"
        elif self._accept(TK_AFTER):
            time = "AFTER"
        elif self._accept(TK_INSTEAD):
            self._expect(TK_OF)
            time = "INSTEAD OF"
        columns = None
        if self._accept(TK_DELETE):
            event = "DELETE"
        elif self._accept(TK_INSERT):
            event = "INSERT"
        else:
            self._expect(TK_UPDATE)
            event = "UPDATE"
            if self._accept(TK_OF):
                columns = [self._name()]
                while self._accept(TK_COMMA):
                    columns.append(self._name())
        self._expect(TK_ON)
        table_schema, table, _ = self._qualified()
        for_each_row = False
        if self._accept(TK_FOR):
            self._expect(TK_EACH)
            self._expect(TK_ROW)
            for_each_row = True
        when = self._expr() if self._accept(TK_WHEN) else None
        self._expect(TK_BEGIN)
        body = []
        while True:
            body.append(self._trigger_cmd())
            self._expect(TK_SEMI)
            if self.t == TK_END:
                break
        end = self._advance()[3]
        sql = "CREATE TRIGGER " + self.sql[name_tok[2]:end]
        return A.CreateTrigger(sql, temp, ine, schema, name,
                               time, event, columns, table, for_each_row, when, body, table_schema)

    def _trigger_cmd(self):
        tok = self.tok
        t = tok[0]
        if t == TK_UPDATE:
            stmt = self._update()
        elif t == TK_INSERT or t == TK_REPLACE:
            stmt = self._insert()
        elif t == TK_DELETE:
            stmt = self._delete()
        elif t in SELECT_START:
            return self._select()
        else:
            raise self._error()
        if stmt.table.schema is not None:
            raise self._fail("qualified table names are not allowed on INSERT, UPDATE, and DELETE "
                             "statements within triggers", tok)
        if t != TK_INSERT and t != TK_REPLACE and (stmt.table.indexed_by or stmt.table.not_indexed):
            raise self._fail("the INDEXED BY clause is not allowed on UPDATE or DELETE statements "
                             "within triggers", tok)
        stmt.pos = tok[2]
        return stmt

    # ------------------------------------------------------------ other statements

    def _drop(self):
        self._advance()
        kind = {TK_TABLE: "TABLE", TK_INDEX: "INDEX", TK_VIEW: "VIEW", TK_TRIGGER: "TRIGGER"}.get(self.t)
        if kind is None:
            raise self._error()
        self._advance()
        if_exists = self._if_exists()
        schema, name, _ = self._qualified()
        return A.Drop(kind, if_exists, schema, name)

    def _alter(self):
        start = self._advance()[2]
        stmt = self._alter_action()
        stmt.sql = self.sql[start:self.tok[2]]
        return stmt

    def _alter_action(self):
        self._expect(TK_TABLE)
        schema, table, _ = self._qualified()
        if self._accept(TK_RENAME):
            if self._accept(TK_TO):
                return A.AlterTable(schema, table, "RENAME", None, self._name(), None)
            self._accept(TK_COLUMN)
            column = self._name()
            self._expect(TK_TO)
            return A.AlterTable(schema, table, "RENAME COLUMN", column, self._name(), None)
        if self._accept(TK_ADD):
            self._accept(TK_COLUMN)
            return A.AlterTable(schema, table, "ADD COLUMN", None, None, self._column_def())
        self._expect(TK_DROP)
        self._accept(TK_COLUMN)
        return A.AlterTable(schema, table, "DROP COLUMN", self._name(), None, None)

    def _trans_opt(self):
        if self._accept(TK_TRANSACTION) and self.t in NAME_TOKENS:
            self._advance()

    def _begin(self):
        self._advance()
        mode = None
        t = self.t
        if t == TK_DEFERRED or t == TK_IMMEDIATE or t == TK_EXCLUSIVE:
            mode = self._advance()[1].upper()
        elif self._word("CONCURRENT"):
            mode = "CONCURRENT"
        self._trans_opt()
        return A.Begin(mode)

    def _commit(self):
        self._advance()
        self._trans_opt()
        return A.Commit()

    def _rollback(self):
        self._advance()
        self._trans_opt()
        savepoint = None
        if self._accept(TK_TO):
            self._accept(TK_SAVEPOINT)
            savepoint = self._name()
        return A.Rollback(savepoint)

    def _savepoint(self):
        self._advance()
        return A.Savepoint(self._name())

    def _release(self):
        self._advance()
        self._accept(TK_SAVEPOINT)
        return A.Release(self._name())

    def _pragma(self):
        self._advance()
        schema, name, _ = self._qualified()
        value = None
        if self._accept(TK_EQ):
            value = self._pragma_value()
        elif self._accept(TK_LP):
            value = self._pragma_value()
            self._expect(TK_RP)
        return A.Pragma(schema, name, value)

    def _pragma_value(self):
        """parse.y ``nmnum`` or a signed number: str for names, int/float for numbers."""
        t = self.t
        if t == TK_PLUS or t == TK_MINUS:
            self._advance()
            number = self._number_value()
            return -number if t == TK_MINUS else number
        if t == TK_INTEGER or t == TK_FLOAT:
            return self._number_value()
        if t in NAME_TOKENS or t == TK_ON or t == TK_DELETE or t == TK_DEFAULT:
            return self._advance()[1]
        raise self._error()

    def _number_value(self):
        if self.t == TK_INTEGER:
            return self._integer(self._advance()).value
        if self.t == TK_FLOAT:
            return float(self._advance()[1])
        raise self._error()

    def _attach(self):
        self._advance()
        self._accept(TK_DATABASE)
        expr = self._expr()
        self._expect(TK_AS)
        schema = self._expr()
        key = self._expr() if self._accept(TK_KEY) else None
        return A.Attach(expr, schema, key)

    def _detach(self):
        self._advance()
        self._accept(TK_DATABASE)
        return A.Detach(self._expr())

    def _vacuum(self):
        self._advance()
        schema = self._name() if self.t in NAME_TOKENS else None
        into = self._expr() if self._accept(TK_INTO) else None
        return A.Vacuum(schema, into)

    def _analyze(self):
        self._advance()
        if self.t not in NAME_TOKENS:
            return A.Analyze(None, None)
        schema, name, _ = self._qualified()
        return A.Analyze(schema, name)

    def _reindex(self):
        self._advance()
        if self.t not in NAME_TOKENS:
            return A.Reindex(None, None)
        schema, name, _ = self._qualified()
        return A.Reindex(schema, name)
