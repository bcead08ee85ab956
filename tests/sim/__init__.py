"""Crash and I/O-scheduling tests under SimulatedIO (a package, so they share stepping.py)."""
