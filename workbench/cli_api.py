"""``workbench api`` (the HTTP API) and ``workbench token create|list|revoke`` (its tokens).

A token belongs to one owner and reaches that owner's jobs (every job, for
owners in ``$WORKBENCH_ADMINS``). Its secret is printed once, by ``create``;
the store keeps only its SHA-256. ``list`` and ``revoke`` name tokens by id.
"""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli_store import STORE_HELP


def add_api_commands(commands: Any) -> None:
    """Add ``api`` and ``token`` to the ``workbench`` subcommand parser."""
    api = commands.add_parser(
        "api", help="serve the HTTP API (FastAPI; OpenAPI at /docs) over the job store",
        description="Submit, list, read, cancel and download jobs over HTTP with a token per user "
                    "(`workbench token create`). Loopback by default; upgrades the store's schema on start.")
    api.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    api.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    api.add_argument("--store", help=STORE_HELP)
    api.add_argument("--results", help="the dispatcher's results folder (default $WORKBENCH_HOME/results)")
    api.add_argument("--allow-root", action="append", metavar="DIR", dest="roots",
                     help="a folder whose files submitted jobs may name (templates, weights); repeat for more "
                          "(default: $WORKBENCH_FILE_ROOTS; $WORKBENCH_HOME/uploads always)")
    api.set_defaults(handler=_api)

    token = commands.add_parser(
        "token", help="create, list or revoke HTTP API tokens",
        description="`create --owner NAME [--name LABEL]` prints a new token once (keep it; only its SHA-256 is "
                    "stored); `list [--owner NAME]` shows ids, owners, names and last use; `revoke ID` refuses "
                    "the token from now on.")
    token.add_argument("action", choices=["create", "list", "revoke"])
    token.add_argument("token_id", nargs="?", help="revoke: the token's id (from list)")
    token.add_argument("--owner", help="create: whose jobs the token reaches; list: only this owner's tokens")
    token.add_argument("--name", default="", help="create: a label (laptop, pipeline, ...)")
    token.add_argument("--store", help=STORE_HELP)
    token.set_defaults(handler=_token)


def _api(args: argparse.Namespace) -> int:
    from workbench.api.server import serve

    return serve(args.host, args.port, store_url=args.store, results_root=args.results, file_roots=args.roots)


def _token(args: argparse.Namespace) -> int:
    from workbench.jobs.store import JobStore

    with JobStore(args.store) as store:
        if args.action == "create":
            if not args.owner:
                raise ValueError("token create needs --owner NAME")
            token, secret = store.create_token(args.owner, args.name)
            print(secret)
            print(f"token {token.id} for {token.owner}: shown once, keep it (only its SHA-256 is stored)")
            return 0
        if args.action == "revoke":
            if not args.token_id:
                raise ValueError("token revoke needs the token's id (see `workbench token list`)")
            token = store.revoke_token(args.token_id)
            print(f"{token.id}: revoked ({token.owner}{', ' + token.name if token.name else ''})")
            return 0
        for token in store.list_tokens(args.owner):
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
            state = "revoked" if token.revoked else "active"
            print(f"{token.id}  {token.owner:<12}  {state:<7}  {token.created_at:%Y-%m-%d %H:%M}  {used}  {token.name}")
    return 0
