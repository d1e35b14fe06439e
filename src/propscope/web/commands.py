"""`propscope serve` and `propscope tokens …`, wired into the CLI by cli.py."""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Optional

import typer

from propscope import profiles
from propscope._cli_options import INTERACTIVE_DEFAULT_HELP, PROFILE_HELP, int_range
from propscope._terminal import console, labelled, line, printable
from propscope.config import RATE_PER_ADDRESS, RATE_PER_TOKEN, RateLimits
from propscope.errors import PropscopeError
from propscope.store import Store
from propscope.web.tokens import ROLES, create_token, list_tokens, revoke_token

err = console(stderr=True, soft_wrap=True)  # never markup: store URLs, reasons and token names are data
DbOption = Annotated[
    Optional[str],  # noqa: UP045 - Typer reads the annotation at run time
    typer.Option("--db", help="Store URL (default: $PROPSCOPE_DB or the user's SQLite file)."),
]

HOST_HELP = "Address to listen on; anything but loopback requires API tokens."
ANALYZERS_HELP = "Comma-separated analysers for /api/analyze (default: all installed)."
RATE_HELP = (
    "Requests a minute allowed from one client address (0: no limit; default {default} when "
    "served beyond loopback, none on loopback)."
)
TOKEN_RATE_HELP = (
    "Requests a minute allowed with one API token (0: no limit; default {default} when served "
    "beyond loopback, none on loopback)."
)

tokens_app = typer.Typer(help="Manage API tokens for `propscope serve`.", no_args_is_help=True)


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: only the machine's own users can connect."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _store(db: str | None) -> Store:
    try:
        return Store.open(db)
    except PropscopeError as exc:
        err.print(labelled("error", exc), soft_wrap=True)
        raise typer.Exit(1) from exc


def serve_command(
    host: Annotated[str, typer.Option(help=HOST_HELP)] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", callback=int_range(1, 65535))] = 8000,
    db: DbOption = None,
    analyzers: Annotated[Optional[str], typer.Option(help=ANALYZERS_HELP)] = None,  # noqa: UP045
    rate_limit: Annotated[Optional[int], typer.Option(  # noqa: UP045
        callback=int_range(0), help=RATE_HELP.format(default=RATE_PER_ADDRESS))] = None,
    token_rate_limit: Annotated[Optional[int], typer.Option(  # noqa: UP045
        callback=int_range(0), help=TOKEN_RATE_HELP.format(default=RATE_PER_TOKEN))] = None,
    profile: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help=PROFILE_HELP.format(default=INTERACTIVE_DEFAULT_HELP))] = None,
) -> None:
    """Serve the web workbench and the REST API (open http://HOST:PORT/)."""
    import uvicorn

    from propscope.web.app import create_app

    try:  # the served profile is chosen once, here: an unknown or missing one is exit 2
        model_dir = str(profiles.model_dir(profile, None, profiles.interactive_default()))
    except PropscopeError as exc:
        err.print(labelled("error", exc), soft_wrap=True)
        raise typer.Exit(2) from exc
    names = [n.strip() for n in analyzers.split(",") if n.strip()] if analyzers else None
    if names is None:
        names = _default_analyzers(model_dir)
    require_tokens = not is_loopback(host)
    limits = RateLimits() if require_tokens else RateLimits.off()
    limits = RateLimits(limits.per_address if rate_limit is None else rate_limit,
                        limits.per_token if token_rate_limit is None else token_rate_limit)
    try:
        app = create_app(db, require_tokens=require_tokens, analyzers=names, host=host,
                         rate_limits=limits, model_dir=model_dir)
    except PropscopeError as exc:
        err.print(labelled("error", exc), soft_wrap=True)
        raise typer.Exit(1) from exc
    store = app.state.bench.store
    if require_tokens and not list_tokens(store.engine):
        err.print("No API token exists yet: create one with `propscope tokens create --role analyst`.")
    mode = "tokens required" if require_tokens else "loopback only: anonymous reading allowed"
    err.print(line(f"propscope serving {store.url} on http://{host}:{port}/ ({mode}; model {model_dir})"))
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_keep_alive=5,
                limit_concurrency=512, server_header=False)


def _default_analyzers(model_dir: str) -> list[str]:
    """The default pipeline less any analyser whose model is missing here (with a warning)."""
    from propscope import registry
    from propscope.web.service import usable_analyzers

    err.print("Loading the analysers…")
    kept, dropped = usable_analyzers(registry.default_names(), model_dir)
    for name, reason in dropped.items():
        err.print(line(f"warning: serving without {name!r}: {reason}"))
    return kept


@tokens_app.command("create")
def create(
    role: Annotated[str, typer.Option(help="reader | analyst | admin")] = "reader",
    name: Annotated[Optional[str], typer.Option(help="Who or what the token is for.")] = None,  # noqa: UP045
    db: DbOption = None,
) -> None:
    """Create a token; it is printed once and only its hash is stored."""
    if role not in ROLES:
        raise typer.BadParameter(f"--role must be one of {', '.join(ROLES)}")
    store = _store(db)
    token = create_token(store.engine, role, name)
    err.print(f"Created a token with the {role} role. Keep it secret; it is not shown again:")
    typer.echo(token)


@tokens_app.command("list")
def list_command(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """List tokens (their first characters only, never the secret)."""
    for info in list_tokens(_store(db).engine):
        if as_json:
            typer.echo(json.dumps(info.to_json()))
        else:
            state = "revoked" if info.revoked_at else "live"
            typer.echo(f"{info.id}\t{info.role}\t{info.prefix}…\t{state}\t{printable(info.name or '')}")


@tokens_app.command("revoke")
def revoke(
    token_id: Annotated[
        int, typer.Argument(metavar="ID", help="Token id from `tokens list`.", callback=int_range(1))
    ],
    db: DbOption = None,
) -> None:
    """Revoke a token (running servers stop accepting it within seconds)."""
    if not revoke_token(_store(db).engine, token_id):
        err.print(f"error no live token with id {token_id}")
        raise typer.Exit(1)
    err.print(f"Token {token_id} revoked.")
