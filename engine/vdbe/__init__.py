"""The virtual machine: programs of SQLite-named opcodes and the step loop.

``Program`` (program.py) is what translate produces; ``program.new_vm(conn)``
gives a VM whose ``step()`` returns ROW, DONE, IO or BUSY (contracts.md §9).
"""

from limbodb.vdbe.program import BUSY, DONE, IO, ROW, VM, Program

__all__ = ["Program", "VM", "ROW", "DONE", "IO", "BUSY"]
