"""``workbench store upgrade|current``: the job store's schema version.

``current`` says which revision a store holds and whether this workbench
would migrate it; ``upgrade`` migrates it to the newest revision (keeping
every row), stamping a store made before the schema had versions. ``workbench
serve`` upgrades on start too; other commands refuse a store that needs it.
"""

from __future__ import annotations

import argparse
from typing import Any

STORE_HELP = "job store URL (default: $WORKBENCH_STORE_URL, else SQLite in $WORKBENCH_HOME)"


def add_store_command(commands: Any) -> None:
    """Add ``store`` to the ``workbench`` subcommand parser."""
    store = commands.add_parser(
        "store", help="the job store's schema: show its revision or upgrade it",
        description="`workbench store current` prints the store's schema revision and this workbench's newest; "
                    "`workbench store upgrade` migrates the store to it, keeping every job (one transaction, "
                    "safe while other processes use the store).",
    )
    store.add_argument("action", choices=["current", "upgrade"])
    store.add_argument("--store", help=STORE_HELP)
    store.set_defaults(handler=_store)


def _store(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from workbench.jobs.migrate import store_schema, upgrade_store
    from workbench.jobs.store import default_url

    url = args.store or default_url()
    if args.action == "current":
        state = store_schema(url)
        print(f"{make_url(url).render_as_string(hide_password=True)}: {state.describe()}")
        return 0 if state.known else 1
    before, after = upgrade_store(url)
    shown = make_url(url).render_as_string(hide_password=True)
    if before.revision == after.revision and before.versioned:
        print(f"{shown}: already at revision {after.revision} (head)")
    else:
        was = "empty" if before.revision is None else f"revision {before.revision}" + (
            "" if before.versioned else " (unversioned)")
        print(f"{shown}: upgraded from {was} to revision {after.revision}")
    return 0
