"""Recursive-descent parser for SQLite's SQL dialect, producing ``ast`` nodes.

Mirrors sqlite src/parse.y (grammar, operator precedence, keyword fallback to
identifiers) and Turso's parser crate. Expressions use precedence climbing
over parse.y's table, lowest first: OR; AND; NOT; = == != <> IS IN LIKE GLOB
MATCH REGEXP BETWEEN ISNULL NOTNULL; < <= > >=; ESCAPE; & | << >>; + -; * / %;
|| -> ->>; COLLATE; unary - + ~. Errors carry SQLite's texts and the offset of
the offending token: ``near "X": syntax error``, ``incomplete input``,
``unrecognized token: "X"``.

Text stored in sqlite_schema (checked against SQLite 3.40): "CREATE TABLE ",
"CREATE [UNIQUE ]INDEX ", "CREATE VIEW " or "CREATE TRIGGER " followed by the
source text from the object's name (without its schema prefix) onward; TEMP
and IF NOT EXISTS are dropped. A table and a trigger end at their last token;
an index runs to the ``;`` (or the end of input), keeping whitespace and
comments before it; a view does too, less trailing whitespace.
"""

from ..errors import OperationalError
from . import ast as A
from .ddl import DdlMixin
from .lexer import SPACES, scan
from .tokens import *  # noqa: F403 - the TK_* codes are this module's vocabulary
from .tokens import ALIAS_TOKENS, CONFLICT_ACTIONS, EXPR_ID_TOKENS, JOIN_KW, NAME_TOKENS, SELECT_START

_INT64_MAX = (1 << 63) - 1
_MAX_EXPR_DEPTH = 1000         # SQLITE_MAX_EXPR_DEPTH
_HEIGHT_WATCH = 900            # operator-chain length from which heights are tracked
_MAX_COMPOUND_SELECT = 500     # SQLITE_MAX_COMPOUND_SELECT
_MAX_VARIABLE_NUMBER = 250000

# Binding power (higher binds tighter), parse.y's levels; level 6 is ESCAPE, parsed
# inside LIKE, and COLLATE (11) binds tighter than every binary operator.
_P_OR, _P_AND, _P_NOT, _P_EQ, _P_CMP, _P_BIT, _P_ADD, _P_MUL, _P_CONCAT = 1, 2, 3, 4, 5, 7, 8, 9, 10
_BINARY = {
    TK_OR: (_P_OR, "OR"), TK_AND: (_P_AND, "AND"),
    TK_EQ: (_P_EQ, "="), TK_NE: (_P_EQ, "!="),
    TK_LT: (_P_CMP, "<"), TK_LE: (_P_CMP, "<="), TK_GT: (_P_CMP, ">"), TK_GE: (_P_CMP, ">="),
    TK_BITAND: (_P_BIT, "&"), TK_BITOR: (_P_BIT, "|"), TK_LSHIFT: (_P_BIT, "<<"),
    TK_RSHIFT: (_P_BIT, ">>"),
    TK_PLUS: (_P_ADD, "+"), TK_MINUS: (_P_ADD, "-"),
    TK_STAR: (_P_MUL, "*"), TK_SLASH: (_P_MUL, "/"), TK_REM: (_P_MUL, "%"),
    TK_CONCAT: (_P_CONCAT, "||"),
}
# Operators at the equality level that are not plain binary nodes.
_EQ_LEVEL = frozenset((TK_IS, TK_IN, TK_LIKE, TK_GLOB, TK_REGEXP, TK_MATCH, TK_BETWEEN,
                       TK_ISNULL, TK_NOTNULL, TK_NOT))
_LIKE_OPS = {TK_LIKE: "LIKE", TK_GLOB: "GLOB", TK_REGEXP: "REGEXP", TK_MATCH: "MATCH"}
_CTIME = {TK_CURRENT_TIME: A.LIT_CURRENT_TIME, TK_CURRENT_DATE: A.LIT_CURRENT_DATE,
          TK_CURRENT_TIMESTAMP: A.LIT_CURRENT_TIMESTAMP}
# Fallback keywords that keep their keyword meaning at the start of a term.
_TERM_KEYWORDS = frozenset((TK_CAST, TK_RAISE, TK_CURRENT_TIME, TK_CURRENT_DATE, TK_CURRENT_TIMESTAMP))
_COMPOUND = {TK_UNION: "UNION", TK_INTERSECT: "INTERSECT", TK_EXCEPT: "EXCEPT"}
# sqlite3JoinType's keyword table.
_JOIN_WORDS = {"natural": A.JT_NATURAL, "left": A.JT_LEFT | A.JT_OUTER, "outer": A.JT_OUTER,
               "right": A.JT_RIGHT | A.JT_OUTER, "full": A.JT_LEFT | A.JT_RIGHT | A.JT_OUTER,
               "inner": A.JT_INNER, "cross": A.JT_INNER | A.JT_CROSS}

def _is_zero_token(e):
    """The integer token 0 as written (00 and 0x0 too), not -0, 0.0 or FALSE."""
    return e.__class__ is A.Literal and e.kind == A.LIT_VALUE and e.value.__class__ is int and e.value == 0


def _height(node, skip=None):
    """SQLite's Expr height of ``node`` (leaves are 1), not descending into ``skip``;
    iterative, since the trees measured are the deep ones."""
    best = 0
    stack = [(node, 1)]
    while stack:
        n, depth = stack.pop()
        if depth > best:
            best = depth
        for f in n._fields:
            v = getattr(n, f, None)
            if isinstance(v, A.Node):
                if v is not skip:
                    stack.append((v, depth + 1))
            elif isinstance(v, list):
                for x in v:
                    if isinstance(x, A.Node):
                        stack.append((x, depth + 1))
                    elif isinstance(x, tuple):
                        stack.extend((y, depth + 1) for y in x if isinstance(y, A.Node))
    return best


def _syntax_error(sql, tok):
    t, value, start, end = tok
    if t == TK_EOF:
        return OperationalError("incomplete input", offset=start)
    if t == TK_ILLEGAL:
        return OperationalError(f'unrecognized token: "{value}"', offset=start)
    return OperationalError(f'near "{sql[start:end]}": syntax error', offset=start)


class Parser(DdlMixin):
    """Parses statements of one SQL text; see ``parse_one``."""

    __slots__ = ("sql", "toks", "i", "tok", "t", "scan_pos", "nvar", "var_names", "var_index",
                 "overflow", "pending", "late")

    def __init__(self, sql, offset=0):
        self.sql = sql
        self.toks = []
        self.scan_pos = scan(sql, offset, self.toks)
        self.i = 0
        # The Literal of the last integer token equal to 2**63, which a minus makes an int.
        self.overflow = None
        # Errors SQLite raises while reducing a rule (``_defer``) or after parsing (``_late``).
        self.pending = None
        self.late = None
        self.tok = self.toks[0]
        self.t = self.tok[0]

    # ------------------------------------------------------------ tokens

    def _advance(self):
        if self.pending is not None:
            raise self.pending
        tok = self.tok
        i = self.i = self.i + 1
        toks = self.toks
        if i == len(toks):
            # The buffer ends at each ';': a trigger body needs the next statement's tokens.
            self.scan_pos = scan(self.sql, self.scan_pos, toks)
        self.tok = toks[i]
        self.t = self.tok[0]
        return tok

    def _peek(self, k=1):
        toks = self.toks
        while self.i + k >= len(toks):
            if toks[-1][0] == TK_EOF:
                return toks[-1]
            self.scan_pos = scan(self.sql, self.scan_pos, toks)
        return toks[self.i + k]

    def _accept(self, t):
        if self.t == t:
            self._advance()
            return True
        return False

    def _expect(self, t):
        if self.t != t:
            raise self._error()
        return self._advance()

    def _error(self):
        return _syntax_error(self.sql, self.tok)

    def _fail(self, msg, tok=None):
        return OperationalError(msg, offset=(tok or self.tok)[2])

    def _defer(self, msg, tok):
        """An error SQLite raises when it reduces a rule, on seeing the next token:
        a syntax error at that token wins, otherwise this is raised once it is taken."""
        if self.pending is None:
            self.pending = self._fail(msg, tok)

    def _late(self, msg, tok):
        """An error SQLite raises after parsing (name resolution, code generation)."""
        if self.late is None:
            self.late = self._fail(msg, tok)

    def _name(self):
        """parse.y ``nm``: an identifier, a string, a join keyword or a fallback keyword."""
        if self.t in NAME_TOKENS and not (self.t == TK_ID and self._contextual_keyword() is not None):
            return self._advance()[1]
        raise self._error()

    def _qualified(self):
        """``[schema.]name`` -> (schema, name, name token)."""
        tok = self.tok
        name = self._name()
        if self.t == TK_DOT:
            self._advance()
            tok = self.tok
            return name, self._name(), tok
        return None, name, tok

    def _name_list(self, eid=False):
        """``(a, b, ...)``; the opening parenthesis is the current token. ``eid``:
        parse.y's eidlist, whose names may carry COLLATE/ASC/DESC that SQLite
        parses and then rejects."""
        self._expect(TK_LP)
        names = []
        while True:
            tok = self.tok
            names.append(self._name())
            if eid and (self.t == TK_COLLATE or self.t == TK_ASC or self.t == TK_DESC):
                if self._accept(TK_COLLATE):
                    if self.t not in ALIAS_TOKENS:
                        raise self._error()
                    self._advance()
                if self.t == TK_ASC or self.t == TK_DESC:
                    self._advance()
                self._defer(f'syntax error after column name "{tok[1]}"', tok)
            if not self._accept(TK_COMMA):
                break
        self._expect(TK_RP)
        return names

    def _alias(self):
        """``[AS] name`` after a result column or table; None if absent."""
        if self.t == TK_AS:
            self._advance()
            return self._name()
        if self.t in ALIAS_TOKENS:
            if self.t == TK_ID:
                keyword = self._contextual_keyword()
                if keyword == "WINDOW":
                    return None
                if keyword is not None:
                    # OVER or FILTER after a non-function: SQLite stops right here.
                    raise self._error()
            return self._advance()[1]
        return None

    def _contextual_keyword(self):
        """"WINDOW", "OVER" or "FILTER" if the current bare word is used as that keyword, else None.

        SQLite's tokenizer (analyzeWindowKeyword and friends) decides by context:
        WINDOW before ``name AS``; OVER after ``)`` and before ``(`` or a name;
        FILTER after ``)`` and before ``(``. Elsewhere they are identifiers."""
        tok = self.tok
        word = tok[1]
        if len(word) != 4 and len(word) != 6 or self.sql[tok[2]] in "\"[`":
            return None
        word = word.upper()
        if word == "WINDOW":
            if self._peek(1)[0] in NAME_TOKENS and self._peek(2)[0] == TK_AS:
                return word
            return None
        if word != "OVER" and word != "FILTER":
            return None
        if self.i == 0 or self.toks[self.i - 1][0] != TK_RP:
            return None
        nxt = self._peek(1)
        following = nxt[0]
        if following == TK_LP:
            return word
        # tokenize.c's getToken counts names, join and fallback keywords (not INDEXED
        # or FILTER) as an identifier after OVER.
        if (word == "OVER" and following in NAME_TOKENS and following != TK_INDEXED
                and not (following == TK_ID and nxt[1].upper() == "FILTER")):
            return word
        return None

    def _word(self, word):
        """True (and consumed) if the current token is the contextual word ``word``."""
        if self.t in ALIAS_TOKENS and self.tok[1].upper() == word and self.t != TK_STRING:
            self._advance()
            return True
        return False

    # ------------------------------------------------------------ statements

    def parse_statement(self):
        """The next statement, or None at the end of input; skips empty ';'."""
        while self.t == TK_SEMI:
            self._advance()
        if self.t == TK_EOF:
            return None
        self.nvar = 0
        self.var_names = {}
        self.var_index = {}
        start = self.tok[2]
        stmt = self._cmd()
        if self.t != TK_SEMI and self.t != TK_EOF:
            raise self._error()
        if self.pending is not None:
            raise self.pending
        if self.late is not None:
            raise self.late
        stmt.pos = start
        stmt.param_count = self.nvar
        stmt.param_names = self.var_names
        if stmt.__class__ is A.Explain:
            stmt.stmt.param_count = self.nvar
            stmt.stmt.param_names = self.var_names
        return stmt

    def end_offset(self):
        """Offset just after the statement just parsed (after its ';')."""
        tok = self.tok
        return tok[3] if tok[0] == TK_SEMI else tok[2]

    def _cmd(self):
        t = self.t
        if t == TK_EXPLAIN:
            self._advance()
            qp = False
            if self._accept(TK_QUERY):
                self._expect(TK_PLAN)
                qp = True
            start = self.tok[2]
            stmt = self._cmd_body()
            stmt.pos = start
            return A.Explain(stmt, qp)
        return self._cmd_body()

    def _cmd_body(self):
        t = self.t
        if t == TK_SELECT or t == TK_VALUES:
            return self._select()
        if t == TK_WITH:
            with_ = self._with()
            t = self.t
            if t == TK_SELECT or t == TK_VALUES:
                return self._select(with_)
            if t == TK_INSERT or t == TK_REPLACE:
                return self._insert(with_)
            if t == TK_UPDATE:
                return self._update(with_)
            if t == TK_DELETE:
                return self._delete(with_)
            raise self._error()
        if t == TK_INSERT or t == TK_REPLACE:
            return self._insert()
        if t == TK_UPDATE:
            return self._update()
        if t == TK_DELETE:
            return self._delete()
        handler = _STATEMENTS.get(t)
        if handler is None:
            raise self._error()
        return handler(self)

    # ------------------------------------------------------------ SELECT

    def _with(self):
        self._expect(TK_WITH)
        recursive = self._accept(TK_RECURSIVE)
        ctes = [self._cte()]
        while self._accept(TK_COMMA):
            ctes.append(self._cte())
        return A.With(recursive, ctes)

    def _cte(self):
        name = self._name()
        columns = self._name_list(True) if self.t == TK_LP else None
        self._expect(TK_AS)
        materialized = None
        if self._accept(TK_MATERIALIZED):
            materialized = True
        elif self.t == TK_NOT:
            self._advance()
            self._expect(TK_MATERIALIZED)
            materialized = False
        self._expect(TK_LP)
        select = self._select()
        self._expect(TK_RP)
        return A.CTE(name, columns, select, materialized)

    def _select(self, with_=None):
        """A full SELECT (compound, ORDER BY, LIMIT); the current token starts it."""
        if with_ is None and self.t == TK_WITH:
            with_ = self._with()
        pos = self.tok[2]
        cores = []
        ops = []
        misplaced = None
        while True:
            if self.t == TK_VALUES:
                cores.append(self._values())
                order_by = limit = offset = None
            else:
                self._expect(TK_SELECT)
                cores.append(self._select_core())
                order_by = self._order_by_opt()
                limit, offset = self._limit_opt()
            op = _COMPOUND.get(self.t)
            if op is None:
                break
            op_tok = self._advance()
            if op == "UNION" and self._accept(TK_ALL):
                op = "UNION ALL"
            if misplaced is None and (order_by is not None or limit is not None):
                misplaced = (f"{'ORDER BY' if order_by is not None else 'LIMIT'} clause "
                             f"should come after {op} not before", op_tok)
            ops.append(op)
            if self.t != TK_SELECT and self.t != TK_VALUES:
                raise self._error()
        if misplaced is not None:
            # parse.y checks this once the whole compound is parsed.
            self._defer(*misplaced)
        if len(cores) > _MAX_COMPOUND_SELECT:
            self._defer("too many terms in compound SELECT", self.tok)
        stmt = A.Select(with_, cores, ops, order_by, limit, offset)
        stmt.pos = pos
        return stmt

    def _values(self):
        self._expect(TK_VALUES)
        rows = [self._paren_exprs()]
        n = len(rows[0])
        while self.t == TK_COMMA:
            self._advance()
            tok = self.tok
            row = self._paren_exprs()
            if len(row) != n:
                # Reported when SQLite resolves the compound, after parsing.
                self._late("all VALUES must have the same number of terms", tok)
            rows.append(row)
        return A.Values(rows)

    def _paren_exprs(self):
        self._expect(TK_LP)
        items = self._expr_list()
        self._expect(TK_RP)
        return items

    def _select_core(self):
        distinct = False
        if self.t == TK_DISTINCT:
            self._advance()
            distinct = True
        elif self.t == TK_ALL:
            self._advance()
        columns = [self._result_column()]
        while self._accept(TK_COMMA):
            columns.append(self._result_column())
        from_ = self._from_clause() if self._accept(TK_FROM) else []
        where = self._expr() if self._accept(TK_WHERE) else None
        group_by = having = None
        if self.t == TK_GROUP:
            self._advance()
            self._expect(TK_BY)
            group_by = self._expr_list()
        if self._accept(TK_HAVING):
            having = self._expr()
        windows = None
        if self.t == TK_ID and self._contextual_keyword() == "WINDOW":
            self._advance()
            windows = []
            while True:
                name = self._name()
                self._expect(TK_AS)
                windows.append(A.NamedWindow(name, self._window_spec()))
                if not self._accept(TK_COMMA):
                    break
        return A.SelectCore(distinct, columns, from_, where, group_by, having, windows)

    def _result_column(self):
        tok = self.tok
        t = tok[0]
        if t == TK_STAR:
            self._advance()
            return A.ResultColumn(A.Star(None), None, "*")
        if (t in NAME_TOKENS and t not in _TERM_KEYWORDS and self._peek(1)[0] == TK_DOT
                and self._peek(2)[0] == TK_STAR):
            self._advance()
            self._advance()
            end = self._advance()[3]
            return A.ResultColumn(A.Star(tok[1]), None, self.sql[tok[2]:end])
        expr = self._expr()
        # SQLite's span runs to the next token, so comments after the expression belong to it.
        text = self.sql[tok[2]:self.tok[2]].rstrip(SPACES)
        return A.ResultColumn(expr, self._alias(), text)

    def _order_by_opt(self):
        if self.t != TK_ORDER:
            return None
        self._advance()
        self._expect(TK_BY)
        return self._ordering_terms()

    def _ordering_terms(self):
        terms = [self._ordering_term()]
        while self._accept(TK_COMMA):
            terms.append(self._ordering_term())
        return terms

    def _ordering_term(self):
        expr = self._expr()
        desc = False
        written = False
        if self.t == TK_ASC:
            self._advance()
            written = True
        elif self.t == TK_DESC:
            self._advance()
            desc = written = True
        nulls = A.NULLS_DEFAULT
        if self._accept(TK_NULLS):
            if self._accept(TK_FIRST):
                nulls = A.NULLS_FIRST
            else:
                self._expect(TK_LAST)
                nulls = A.NULLS_LAST
        return A.OrderingTerm(expr, desc, nulls, written)

    def _limit_opt(self):
        if not self._accept(TK_LIMIT):
            return None, None
        limit = self._expr()
        if self._accept(TK_OFFSET):
            return limit, self._expr()
        if self._accept(TK_COMMA):
            # LIMIT a, b means OFFSET a LIMIT b.
            return self._expr(), limit
        return limit, None

    # ------------------------------------------------------------ FROM

    def _from_clause(self):
        first = self._from_item()
        if self.t == TK_ON or self.t == TK_USING:
            tok = self.tok
            self._join_constraint(first)
            self._defer(f"a JOIN clause is required before {tok[1].upper()}", tok)
        items = [first]
        while True:
            t = self.t
            if t == TK_COMMA:
                self._advance()
                jt = A.JT_INNER
            elif t == TK_JOIN:
                self._advance()
                jt = A.JT_INNER
            elif t in JOIN_KW:
                jt = self._join_type()
            else:
                return items
            item = self._from_item()
            item.join_type = jt
            self._join_constraint(item)
            items.append(item)

    def _join_type(self):
        """``JOIN_KW [nm [nm]] JOIN`` checked as sqlite3JoinType does."""
        words = [self._advance()]
        while self.t != TK_JOIN:
            if (len(words) == 3 or self.t not in NAME_TOKENS
                    or (self.t == TK_ID and self._contextual_keyword() is not None)):
                raise self._error()
            words.append(self._advance())
        self._advance()
        jt = 0
        bad = False
        for w in words:
            code = _JOIN_WORDS.get(w[1].lower()) if w[0] != TK_STRING else None
            if code is None:
                bad = True
            else:
                jt |= code
        if (bad or (jt & (A.JT_INNER | A.JT_OUTER)) == (A.JT_INNER | A.JT_OUTER)
                or (jt & (A.JT_OUTER | A.JT_LEFT | A.JT_RIGHT)) == A.JT_OUTER):
            text = " ".join(self.sql[w[2]:w[3]] for w in words)
            self._defer(f"unknown join type: {text}", words[0])
        return jt

    def _join_constraint(self, item):
        if self.t == TK_ON:
            tok = self._advance()
            item.on = self._expr()
        elif self.t == TK_USING:
            tok = self._advance()
            item.using = self._name_list()
        else:
            return
        if item.join_type & A.JT_NATURAL:
            # Reported by sqlite3ProcessJoin, after parsing.
            self._late("a NATURAL join may not have an ON or USING clause", tok)

    def _from_item(self):
        tok = self.tok
        if tok[0] == TK_LP:
            self._advance()
            if self.t in SELECT_START:
                select = self._select()
                self._expect(TK_RP)
                return A.SubqueryRef(select, self._alias())
            items = self._from_clause()
            self._expect(TK_RP)
            alias = self._alias()
            if len(items) == 1 and alias is None:
                return items[0]
            return A.JoinGroup(items, alias)
        schema, name, _ = self._qualified()
        if self.t == TK_LP:
            self._advance()
            args = [] if self.t == TK_RP else self._expr_list()
            self._expect(TK_RP)
            return A.FunctionRef(name, schema, args, self._alias(), tok[2])
        ref = A.TableRef(name, schema, self._alias(), pos=tok[2])
        self._indexed_opt(ref)
        return ref

    def _indexed_opt(self, ref):
        if self.t == TK_INDEXED:
            self._advance()
            self._expect(TK_BY)
            ref.indexed_by = self._name()
        elif self.t == TK_NOT:
            self._advance()
            self._expect(TK_INDEXED)
            ref.not_indexed = True

    # ------------------------------------------------------------ DML

    def _conflict_opt(self):
        """``OR conflict`` after INSERT/UPDATE; None if absent."""
        if self.t != TK_OR:
            return None
        self._advance()
        action = CONFLICT_ACTIONS.get(self.t)
        if action is None:
            raise self._error()
        self._advance()
        return action

    def _returning_opt(self):
        if not self._accept(TK_RETURNING):
            return None
        columns = [self._result_column()]
        while self._accept(TK_COMMA):
            columns.append(self._result_column())
        return columns

    def _insert(self, with_=None):
        if self._accept(TK_REPLACE):
            or_conflict = "REPLACE"
        else:
            self._expect(TK_INSERT)
            or_conflict = self._conflict_opt()
        self._expect(TK_INTO)
        tok = self.tok
        schema, name, _ = self._qualified()
        table = A.TableRef(name, schema, pos=tok[2])
        if self._accept(TK_AS):
            table.alias = self._name()
        columns = self._name_list() if self.t == TK_LP else None
        select = None
        default_values = False
        upsert = None
        if self.t == TK_DEFAULT:
            self._advance()
            self._expect(TK_VALUES)
            default_values = True
        elif self.t in SELECT_START:
            select = self._select()
            if self.t == TK_ON:
                upsert = self._upserts()
        else:
            raise self._error()
        returning = self._returning_opt()
        return A.Insert(with_, or_conflict, table, columns, select, default_values, upsert, returning)

    def _upserts(self):
        upserts = []
        while self.t == TK_ON:
            self._advance()
            self._expect(TK_CONFLICT)
            target = target_where = None
            if self.t == TK_LP:
                self._advance()
                target = self._ordering_terms()
                self._expect(TK_RP)
                if self._accept(TK_WHERE):
                    target_where = self._expr()
            self._expect(TK_DO)
            if self._accept(TK_NOTHING):
                upserts.append(A.Upsert(target, target_where, "NOTHING", None, None))
            else:
                self._expect(TK_UPDATE)
                self._expect(TK_SET)
                sets = self._set_list()
                where = self._expr() if self._accept(TK_WHERE) else None
                upserts.append(A.Upsert(target, target_where, "UPDATE", sets, where))
            if target is None:
                # Only the last ON CONFLICT clause may omit its target.
                if self.t == TK_ON:
                    raise self._error()
                break
        return upserts

    def _set_list(self):
        items = [self._set_item()]
        while self._accept(TK_COMMA):
            items.append(self._set_item())
        return items

    def _set_item(self):
        columns = self._name_list() if self.t == TK_LP else [self._name()]
        self._expect(TK_EQ)
        tok = self.tok
        expr = self._expr()
        if len(columns) > 1 and expr.__class__ is not A.Subquery:
            # sqlite3ExprListAppendVector checks this while parsing.
            n = len(expr.items) if expr.__class__ is A.Vector else 1
            if n != len(columns):
                self._defer(f"{len(columns)} columns assigned {n} values", tok)
        return A.SetItem(columns, expr)

    def _target_table(self):
        tok = self.tok
        schema, name, _ = self._qualified()
        ref = A.TableRef(name, schema, pos=tok[2])
        # parse.y's xfullname: an UPDATE or DELETE target takes an alias only after AS.
        if self._accept(TK_AS):
            ref.alias = self._name()
        self._indexed_opt(ref)
        return ref

    def _update(self, with_=None):
        self._expect(TK_UPDATE)
        or_conflict = self._conflict_opt()
        table = self._target_table()
        self._expect(TK_SET)
        sets = self._set_list()
        from_ = self._from_clause() if self._accept(TK_FROM) else None
        where = self._expr() if self._accept(TK_WHERE) else None
        returning = self._returning_opt()
        order_by = self._order_by_opt()
        limit, offset = self._limit_opt()
        return A.Update(with_, or_conflict, table, sets, from_, where, returning, order_by, limit,
                        offset)

    def _delete(self, with_=None):
        self._expect(TK_DELETE)
        self._expect(TK_FROM)
        table = self._target_table()
        where = self._expr() if self._accept(TK_WHERE) else None
        returning = self._returning_opt()
        order_by = self._order_by_opt()
        limit, offset = self._limit_opt()
        return A.Delete(with_, table, where, returning, order_by, limit, offset)

    # ------------------------------------------------------------ expressions

    def _expr_list(self):
        items = [self._expr()]
        while self._accept(TK_COMMA):
            items.append(self._expr())
        return items

    def _expr(self, min_prec=_P_OR, stop_at_and=False):
        """An expression of operators binding at least ``min_prec``; ``stop_at_and``
        ends it at an AND of this level (the low bound of BETWEEN, as parse.y does)."""
        left = self._unary()
        n = 0
        height = 0
        while True:
            t = self.t
            op = _BINARY.get(t)
            prev = left
            if op is not None:
                prec = op[0]
                if prec < min_prec or (stop_at_and and t == TK_AND):
                    return left
                self._advance()
                right = self._expr(prec + 1)
                if t == TK_AND and (_is_zero_token(left) or _is_zero_token(right)):
                    # sqlite3ExprAnd: an integer token 0 (EP_IsFalse) makes the whole AND the
                    # integer 0, so ``ORDER BY 0 AND x`` is a column number.
                    left = A.Literal(0)
                else:
                    left = A.Binary(op[1], left, right)
            elif t in _EQ_LEVEL:
                if _P_EQ < min_prec:
                    return left
                left = self._eq_level(left)
            elif t == TK_PTR:
                if _P_CONCAT < min_prec:
                    return left
                op = self._advance()[1]
                left = A.Binary(op, left, self._expr(_P_CONCAT + 1))
            elif t == TK_COLLATE:
                self._advance()
                # parse.y: COLLATE ids (no join keywords).
                if self.t not in ALIAS_TOKENS:
                    raise self._error()
                left = A.Collate(left, self._advance()[1])
            else:
                return left
            n += 1
            if n >= _HEIGHT_WATCH:
                # Only long operator chains get near SQLite's depth limit; measure those.
                height = 1 + max(height or _height(prev), _height(left, prev))
                if height > _MAX_EXPR_DEPTH:
                    self._defer(f"Expression tree is too large (maximum depth {_MAX_EXPR_DEPTH})",
                                self.toks[self.i - 1])

    def _eq_level(self, left):
        """One IS/IN/LIKE/BETWEEN/ISNULL/NOTNULL/NOT ... operator applied to ``left``."""
        tok = self._advance()
        t = tok[0]
        negated = False
        if t == TK_ISNULL:
            return A.IsNull(left)
        if t == TK_NOTNULL:
            return A.NotNull(left)
        if t == TK_IS:
            negated = self._accept(TK_NOT)
            if self.t == TK_DISTINCT:
                self._advance()
                self._expect(TK_FROM)
                negated = not negated
            right = self._expr(_P_EQ + 1)
            if right.__class__ is A.Literal and right.value is None and right.kind == A.LIT_VALUE:
                return A.NotNull(left) if negated else A.IsNull(left)
            return A.Is(left, right, negated)
        if t == TK_NOT:
            negated = True
            t = self.t
            if t != TK_NULL and t != TK_BETWEEN and t != TK_IN and t not in _LIKE_OPS:
                raise self._error()
            self._advance()
            if t == TK_NULL:
                return A.NotNull(left)
        if t == TK_BETWEEN:
            low = self._expr(_P_OR, True)
            self._expect(TK_AND)
            return A.Between(left, low, self._expr(_P_EQ + 1), negated)
        if t == TK_IN:
            return self._in(left, negated)
        op = _LIKE_OPS[t]
        pattern = self._expr(_P_EQ + 1)
        escape = self._expr(_P_EQ + 1) if self._accept(TK_ESCAPE) else None
        return A.Like(op, left, pattern, escape, negated)

    def _in(self, left, negated):
        if self.t == TK_LP:
            self._advance()
            if self.t in SELECT_START:
                select = self._select()
                self._expect(TK_RP)
                return A.In(left, None, select, None, negated)
            items = [] if self.t == TK_RP else self._expr_list()
            self._expect(TK_RP)
            return A.In(left, items, None, None, negated)
        tok = self.tok
        schema, name, _ = self._qualified()
        if self.t == TK_LP:
            self._advance()
            args = [] if self.t == TK_RP else self._expr_list()
            self._expect(TK_RP)
            return A.In(left, None, None, A.FunctionRef(name, schema, args, None, tok[2]), negated)
        return A.In(left, None, None, A.TableRef(name, schema, pos=tok[2]), negated)

    def _unary(self):
        t = self.t
        if t == TK_MINUS:
            self._advance()
            operand = self._unary()
            if operand is self.overflow:
                return A.Literal(-(1 << 63))
            return A.Unary("-", operand)
        if t == TK_PLUS:
            self._advance()
            return A.Unary("+", self._unary())
        if t == TK_BITNOT:
            self._advance()
            return A.Unary("~", self._unary())
        if t == TK_NOT:
            self._advance()
            operand = self._expr(_P_NOT)
            if operand.__class__ is A.Exists and not operand.negated:
                operand.negated = True
                return operand
            return A.Unary("NOT", operand)
        return self._primary()

    def _primary(self):
        tok = self.tok
        t = tok[0]
        if t == TK_INTEGER:
            self._advance()
            return self._integer(tok)
        if t == TK_STRING:
            if self._peek(1)[0] == TK_DOT:
                # parse.y's nm includes STRING: 't'.a names a column of t.
                return self._identifier_expr()
            self._advance()
            return A.Literal(tok[1])
        if t in EXPR_ID_TOKENS:
            # CAST, RAISE and CURRENT_* keep their keyword meaning at the start of a term.
            if t in _CTIME:
                self._advance()
                return A.Literal(None, _CTIME[t])
            if t != TK_CAST and t != TK_RAISE:
                if t == TK_ID and self._contextual_keyword() is not None:
                    raise self._error()
                return self._identifier_expr()
        if t == TK_FLOAT:
            self._advance()
            return A.Literal(float(tok[1]))
        if t == TK_NULL:
            self._advance()
            return A.Literal(None)
        if t == TK_VARIABLE:
            self._advance()
            return self._variable(tok)
        if t == TK_LP:
            self._advance()
            if self.t in SELECT_START:
                select = self._select()
                self._expect(TK_RP)
                return A.Subquery(select)
            items = self._expr_list()
            self._expect(TK_RP)
            return items[0] if len(items) == 1 else A.Vector(items)
        if t == TK_BLOB:
            self._advance()
            return A.Literal(tok[1])
        if t == TK_CASE:
            return self._case()
        if t == TK_CAST:
            self._advance()
            self._expect(TK_LP)
            expr = self._expr()
            self._expect(TK_AS)
            type_name = self._type_name()
            self._expect(TK_RP)
            return A.Cast(expr, type_name)
        if t == TK_EXISTS:
            self._advance()
            self._expect(TK_LP)
            select = self._select()
            self._expect(TK_RP)
            return A.Exists(select, False)
        if t == TK_RAISE:
            return self._raise()
        raise self._error()

    def _integer(self, tok):
        text = tok[1]
        if text[1:2] in ("x", "X"):
            value = int(text, 16)
            if value > 0xFFFFFFFFFFFFFFFF:
                # Reported by code generation, after parsing.
                self._late(f"hex literal too big: {text}", tok)
                return A.Literal(0)
            return A.Literal(value - (1 << 64) if value > _INT64_MAX else value)
        value = int(text)
        if value > _INT64_MAX:
            lit = A.Literal(float(text))
            if value == 1 << 63:
                self.overflow = lit
            return lit
        return A.Literal(value)

    def _term(self):
        """parse.y ``term``: a literal (NULL, number, string, blob, CURRENT_*)."""
        tok = self.tok
        t = tok[0]
        if t == TK_INTEGER:
            self._advance()
            return self._integer(tok)
        if t == TK_FLOAT:
            self._advance()
            return A.Literal(float(tok[1]))
        if t == TK_STRING or t == TK_BLOB:
            self._advance()
            return A.Literal(tok[1])
        if t == TK_NULL:
            self._advance()
            return A.Literal(None)
        if t in _CTIME:
            self._advance()
            return A.Literal(None, _CTIME[t])
        raise self._error()

    def _variable(self, tok):
        text = tok[1]
        if text == "?":
            self.nvar += 1
            return A.Param(self.nvar, None, tok[2])
        if text[0] == "?":
            index = int(text[1:])
            if index < 1 or index > _MAX_VARIABLE_NUMBER:
                self._defer(f"variable number must be between ?1 and ?{_MAX_VARIABLE_NUMBER}", tok)
                return A.Param(0, text, tok[2])
            if index > self.nvar:
                self.nvar = index
            if index not in self.var_names:
                self.var_names[index] = text
                self.var_index.setdefault(text, index)
            return A.Param(index, text, tok[2])
        index = self.var_index.get(text)
        if index is None:
            self.nvar += 1
            index = self.var_index[text] = self.nvar
            self.var_names[index] = text
        return A.Param(index, text, tok[2])

    def _identifier_expr(self):
        tok = self._advance()
        t = self.t
        if t == TK_LP:
            if tok[0] in JOIN_KW:
                # parse.y's function names are ``id``, which excludes join keywords.
                raise self._error()
            return self._function_call(tok)
        if t == TK_DOT:
            self._advance()
            second = self._name()
            if self.t == TK_DOT:
                self._advance()
                return A.Column(self._name(), second, tok[1], False, tok[2])
            return A.Column(second, tok[1], None, False, tok[2])
        name = tok[1]
        if tok[0] == TK_ID:
            quote = self.sql[tok[2]]
            if quote == '"':
                return A.Column(name, None, None, True, tok[2])
            if quote not in "[`":
                low = name.lower()
                if low == "true":
                    return A.Literal(1, A.LIT_TRUE)
                if low == "false":
                    return A.Literal(0, A.LIT_FALSE)
        return A.Column(name, None, None, False, tok[2])

    def _function_call(self, name_tok):
        self._advance()
        distinct = star = False
        args = []
        order_by = None
        if self.t == TK_STAR:
            self._advance()
            star = True
        elif self.t != TK_RP:
            if self.t == TK_DISTINCT:
                self._advance()
                distinct = True
            elif self.t == TK_ALL:
                self._advance()
            # f(DISTINCT) parses; SQLite rejects it later, when resolving the call.
            if self.t != TK_RP:
                args = self._expr_list()
                order_by = self._order_by_opt()
        self._expect(TK_RP)
        filter_ = over = None
        if self.t == TK_ID and self._contextual_keyword() == "FILTER":
            self._advance()
            self._advance()
            self._expect(TK_WHERE)
            filter_ = self._expr()
            self._expect(TK_RP)
        if self.t == TK_ID and self._contextual_keyword() == "OVER":
            self._advance()
            over = self._window_spec() if self.t == TK_LP else self._name()
        return A.FunctionCall(name_tok[1], args, distinct, star, order_by, filter_, over, name_tok[2])

    def _window_spec(self):
        """``( [base] [PARTITION BY ...] [ORDER BY ...] [frame] )``."""
        self._expect(TK_LP)
        base = None
        if self.t in NAME_TOKENS and self.t not in (TK_PARTITION, TK_ROWS, TK_RANGE, TK_GROUPS):
            base = self._name()
        partition_by = None
        if self._accept(TK_PARTITION):
            self._expect(TK_BY)
            partition_by = self._expr_list()
        order_by = self._order_by_opt()
        frame = None
        if self.t in (TK_ROWS, TK_RANGE, TK_GROUPS):
            frame = self._frame()
        self._expect(TK_RP)
        return A.WindowDef(base, partition_by, order_by, frame)

    def _frame(self):
        units = self._advance()[1].upper()
        if self._accept(TK_BETWEEN):
            start = self._frame_bound(True)
            self._expect(TK_AND)
            end = self._frame_bound(False)
        else:
            start = self._frame_bound(True)
            end = None
        exclude = None
        if self._accept(TK_EXCLUDE):
            if self._accept(TK_NO):
                self._expect(TK_OTHERS)
                exclude = "NO OTHERS"
            elif self._accept(TK_CURRENT):
                self._expect(TK_ROW)
                exclude = "CURRENT ROW"
            elif self._accept(TK_GROUP):
                exclude = "GROUP"
            else:
                self._expect(TK_TIES)
                exclude = "TIES"
        return A.Frame(units, start, end, exclude)

    def _frame_bound(self, start):
        """A frame bound; UNBOUNDED is PRECEDING at the start and FOLLOWING at the end."""
        if self.t == TK_UNBOUNDED:
            self._advance()
            if start:
                self._expect(TK_PRECEDING)
                return A.FrameBound("UNBOUNDED PRECEDING", None)
            self._expect(TK_FOLLOWING)
            return A.FrameBound("UNBOUNDED FOLLOWING", None)
        if self.t == TK_CURRENT:
            self._advance()
            self._expect(TK_ROW)
            return A.FrameBound("CURRENT ROW", None)
        expr = self._expr()
        if self._accept(TK_PRECEDING):
            return A.FrameBound("PRECEDING", expr)
        self._expect(TK_FOLLOWING)
        return A.FrameBound("FOLLOWING", expr)

    def _case(self):
        self._advance()
        base = None if self.t == TK_WHEN else self._expr()
        whens = []
        while self._accept(TK_WHEN):
            cond = self._expr()
            self._expect(TK_THEN)
            whens.append((cond, self._expr()))
        if not whens:
            raise self._error()
        else_ = self._expr() if self._accept(TK_ELSE) else None
        self._expect(TK_END)
        return A.Case(base, whens, else_)

    def _raise(self):
        self._advance()
        self._expect(TK_LP)
        if self._accept(TK_IGNORE):
            self._expect(TK_RP)
            return A.Raise("IGNORE", None)
        action = {TK_ROLLBACK: "ROLLBACK", TK_ABORT: "ABORT", TK_FAIL: "FAIL"}.get(self.t)
        if action is None:
            raise self._error()
        self._advance()
        self._expect(TK_COMMA)
        # SQLite 3.40's grammar takes a name or string here, not an expression.
        message = A.Literal(self._name())
        self._expect(TK_RP)
        return A.Raise(action, message)

    def _type_name(self):
        """parse.y ``typetoken``: names, then optional ``(n)`` or ``(n, m)``; "" if none."""
        first = self.tok
        last = None
        # Keywords fall back to names here, GENERATED and ALWAYS too (see _column_def).
        while self.t in ALIAS_TOKENS:
            last = self._advance()
        if last is None:
            return ""
        if self.t == TK_LP:
            self._advance()
            self._signed_number()
            if self._accept(TK_COMMA):
                self._signed_number()
            last = self._expect(TK_RP)
        if last is first:
            return first[1]
        return self.sql[first[2]:last[3]]

    def _signed_number(self):
        if self.t == TK_PLUS or self.t == TK_MINUS:
            self._advance()
        if self.t != TK_INTEGER and self.t != TK_FLOAT:
            raise self._error()
        return self._advance()


# Statements other than SELECT/INSERT/UPDATE/DELETE, by their first token.
_STATEMENTS = {
    TK_CREATE: Parser._create, TK_DROP: Parser._drop, TK_ALTER: Parser._alter,
    TK_BEGIN: Parser._begin, TK_COMMIT: Parser._commit, TK_END: Parser._commit,
    TK_ROLLBACK: Parser._rollback, TK_SAVEPOINT: Parser._savepoint, TK_RELEASE: Parser._release,
    TK_PRAGMA: Parser._pragma, TK_ATTACH: Parser._attach, TK_DETACH: Parser._detach,
    TK_VACUUM: Parser._vacuum, TK_ANALYZE: Parser._analyze, TK_REINDEX: Parser._reindex,
}
