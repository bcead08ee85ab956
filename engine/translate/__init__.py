"""Translation: a parsed statement to a Program (contracts.md §9).

``translate(stmt, conn)`` dispatches on the statement's class to one module
per statement kind; EXPLAIN wraps the translated program in a program whose
rows describe it (vdbe/explain.py). Mirrors sqlite src/prepare.c and Turso
core/translate/mod.rs.
"""

import importlib

from limbodb.errors import OperationalError
from limbodb.parser import ast


_HANDLERS = {
    ast.Select: ("select_stmt", "translate_select"),
    ast.Insert: ("insert", "translate_insert"),
    ast.Update: ("update", "translate_update"),
    ast.Delete: ("delete", "translate_delete"),
    ast.CreateTable: ("schema", "translate_create_table"),
    ast.CreateIndex: ("schema", "translate_create_index"),
    ast.CreateView: ("schema", "translate_create_view"),
    ast.CreateTrigger: ("trigger", "translate_create_trigger"),
    ast.Drop: ("schema", "translate_drop"),
    ast.Begin: ("transaction", "translate_begin"),
    ast.Commit: ("transaction", "translate_commit"),
    ast.Rollback: ("transaction", "translate_rollback"),
    ast.Savepoint: ("savepoint", "translate_savepoint"),
    ast.Release: ("savepoint", "translate_release"),
    ast.Pragma: ("pragma", "translate_pragma"),
    ast.AlterTable: ("alter", "translate_alter_table"),
    ast.Vacuum: ("vacuum", "translate_vacuum"),
    ast.Analyze: ("analyze", "translate_analyze"),
    ast.Reindex: ("analyze", "translate_reindex"),
    ast.Attach: ("attach", "translate_attach"),
    ast.Detach: ("attach", "translate_detach"),
}


def translate(stmt, conn):
    """The Program for one parsed statement, against ``conn.schema``."""
    program = _translate(stmt, conn)
    program.param_count = getattr(stmt, "param_count", None) or 0
    program.param_names = dict(getattr(stmt, "param_names", None) or {})
    return program


def _translate(stmt, conn):
    cls = stmt.__class__
    if cls is ast.Explain:
        from limbodb.vdbe.explain import explain_program, query_plan_program
        inner = _translate(stmt.stmt, conn)
        return query_plan_program(inner) if stmt.query_plan else explain_program(inner)
    entry = _HANDLERS.get(cls)
    if entry is None:
        raise OperationalError(f"{cls.__name__} statements are not supported")
    module = importlib.import_module("limbodb.translate." + entry[0])
    return getattr(module, entry[1])(stmt, conn)
