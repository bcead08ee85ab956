"""Backends for limbodb inside Pyodide, and the Python half of the JavaScript binding.

``backend.OpfsIO`` reads and writes the Origin Private File System through
``FileSystemSyncAccessHandle`` objects a browser worker opened for it;
``node.NodeIO`` reaches host files through Node's synchronous ``fs`` calls;
both copy through ``jsbuffers.BufferPool`` and finish every completion before
the call returns. ``bridge`` is what the JavaScript ``Database``/``Statement``
classes (bindings/js) call. ``backend``, ``node`` and ``jsbuffers`` import
Pyodide's ``js``/``pyodide`` modules, so they load only inside Pyodide; nothing
in the engine imports this package: the JavaScript side picks a backend and
passes it in.
"""
