"""``python -m ledger.cli``: the same as the ``xinfang`` script."""

from ledger.cli import main

main()
