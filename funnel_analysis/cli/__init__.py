"""The ``funnel`` command line: one click group, one module per command group.

- :mod:`.app`: the ``funnel`` group and its org commands (``sample``, ``check``, ``cache``, ``kpis``);
- :mod:`.report`: ``funnel report run | due``;
- :mod:`.dedup`: ``funnel dedup``;
- :mod:`.score`: ``funnel score train | evaluate | promote | list | predict``;
- :mod:`.forecast`: ``funnel forecast``;
- :mod:`.common`: the one-line error exit (status 2), ``--mapping`` and ``--json``, loading an org.

Every command has ``--help``. Errors about the data (a file that cannot be used) print one clear line
naming the file, column and expectation and exit with status 2, without a stack trace.

Examples
--------
.. code-block:: console

    $ funnel sample --out data/sample
    $ funnel check data/sample --json
"""

from .app import main

__all__ = ["main"]
