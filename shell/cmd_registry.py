"""pull, push, login, logout, search, and the credentials file they share.

Credentials live in ~/.pyctrcfg (or $PYCTR_CONFIG), in the format of Docker
1.2's ~/.dockercfg: {"<server>": {"auth": base64("user:pass"), "email": ...}}.
A separate file so that pyctr never rewrites the user's docker credentials."""

from __future__ import annotations

import base64
import json
import os

from pyctr.engine.client.errors import StreamError
from pyctr.engine.client.models import AuthConfig

from . import render
from .commands import command
from .context import CLIError, Context
from pyctr.engine.client.frontend.flags import Flag
from .progress import show_stream

INDEX_SERVER = "https://index.docker.io/v1/"


def config_path(ctx: Context) -> str:
    return ctx.environ.get("PYCTR_CONFIG") or os.path.join(os.path.expanduser("~"), ".pyctrcfg")


def _read_config(ctx: Context) -> dict:
    try:
        with open(config_path(ctx), encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_config(ctx: Context, data: dict) -> None:
    path = config_path(ctx)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(path + ".tmp", path)


def load_auth(ctx: Context, server: str) -> AuthConfig:
    entry = _read_config(ctx).get(server) or {}
    user = password = ""
    if entry.get("auth"):
        try:
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except ValueError:
            pass
    return AuthConfig(user, password, entry.get("email", ""), server)


def server_key(server: str) -> str:
    """How a login is filed: Docker Hub under INDEX_SERVER, any other registry under its
    host[:port] (so `login http://127.0.0.1:5000/` and `pull 127.0.0.1:5000/x` agree)."""
    bare = server.strip()
    for scheme in ("https://", "http://"):
        bare = bare.removeprefix(scheme)
    host = bare.split("/", 1)[0]
    if not host or host in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return INDEX_SERVER
    return host


def registry_of(name: str) -> str:
    """The registry a repository name points at (Docker's ResolveRepositoryInfo)."""
    first, sep, _ = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return INDEX_SERVER


def _auth_for(ctx: Context, name: str) -> AuthConfig:
    return load_auth(ctx, registry_of(name))


def _stream(ctx: Context, resp) -> None:
    try:
        show_stream(ctx, resp)
    except StreamError as exc:
        raise CLIError(exc.message) from None


def pull_image(ctx: Context, name: str, all_tags: bool = False) -> None:
    """Pull `name` (`repo[:tag]` or `repo@digest`; no tag means latest unless all_tags),
    showing the daemon's progress stream."""
    if "@" in name:
        if all_tags:
            raise CLIError("Error: tag can't be used with --all-tags/-a")
        repo, tag = name, ""
    else:
        repo, tag = render.split_repo_tag(name)
        if all_tags and tag:
            raise CLIError("Error: tag can't be used with --all-tags/-a")
        if not all_tags and not tag:
            tag = "latest"  # as today's docker; Docker 1.2 pulled every tag (now -a)
    _stream(ctx, ctx.client.pull(repo, tag, _auth_for(ctx, repo)))


@command("pull", "NAME[:TAG|@DIGEST]", "Pull an image or a repository from the registry",
         Flag("-a", "--all-tags", default=False, help="Download all tagged images in the repository"),
         min_args=1, max_args=1)
def pull(ctx: Context, opts, args) -> int:
    pull_image(ctx, args[0], opts.all_tags)
    return 0


@command("push", "NAME[:TAG]", "Push an image or a repository to the registry",
         min_args=1, max_args=1)
def push(ctx: Context, opts, args) -> int:
    repo, tag = render.split_repo_tag(args[0])
    auth = _auth_for(ctx, repo)
    if registry_of(repo) == INDEX_SERVER and "/" not in repo:
        user = auth.username or "<user>"
        raise CLIError(f'You cannot push a "root" repository. Please rename your repository '
                       f"in <user>/<repo> (ex: {user}/{repo})")
    _stream(ctx, ctx.client.push(repo, tag, auth))
    return 0


@command("search", "TERM", "Search the Docker Hub for images",
         Flag("--automated", default=False, help="Only show automated builds"),
         Flag("--no-trunc", default=False, help="Don't truncate output"),
         Flag("-s", "--stars", default=0, help="Only displays with at least x stars"),
         min_args=1, max_args=1)
def search(ctx: Context, opts, args) -> int:
    results = ctx.client.search(args[0], _auth_for(ctx, args[0]))
    ctx.out(render.search_table(results, no_trunc=opts.no_trunc, automated=opts.automated,
                                stars=opts.stars))
    return 0


def _prompt(ctx: Context, label: str, default: str = "", secret: bool = False) -> str:
    if not ctx.stdin_is_tty:
        raise CLIError(f"Error: cannot prompt for {label.lower()} without a terminal; "
                       f"pass it as a flag")
    if secret:
        import getpass

        return getpass.getpass(f"{label}: ")
    shown = f" ({default})" if default else ""
    ctx.out(f"{label}{shown}: ")
    return ctx.stdin.readline().strip() or default


@command("login", "[OPTIONS] [SERVER]",
         'Register or log in to a Docker registry server, if no server is specified '
         '"https://index.docker.io/v1/" is the default.',
         Flag("-e", "--email", default="", help="Email"),
         Flag("-p", "--password", default="", help="Password"),
         Flag("-u", "--username", default="", help="Username"),
         max_args=1, summary="Register or log in to a Docker registry server")
def login(ctx: Context, opts, args) -> int:
    server = server_key(args[0]) if args else INDEX_SERVER
    saved = load_auth(ctx, server)
    username = opts.username or _prompt(ctx, "Username", saved.username)
    if not username:
        raise CLIError("Error: Username is required")
    password = opts.password or _prompt(ctx, "Password", secret=True)
    email = opts.email or saved.email
    if not opts.email and server == INDEX_SERVER and not email:
        email = _prompt(ctx, "Email", saved.email)
    auth = AuthConfig(username, password, email, server)
    result = ctx.client.auth(auth)
    config = _read_config(ctx)
    config[server] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode(),
                      "email": email}
    _write_config(ctx, config)
    status = result.get("Status")
    if status:
        ctx.out(f"{status}\n")
    return 0


@command("logout", "[SERVER]",
         'Log out from a Docker registry, if no server is specified '
         '"https://index.docker.io/v1/" is the default.', max_args=1,
         summary="Log out from a Docker registry server")
def logout(ctx: Context, opts, args) -> int:
    server = server_key(args[0]) if args else INDEX_SERVER
    config = _read_config(ctx)
    if server not in config:
        ctx.out(f"Not logged in to {server}\n")
        return 0
    ctx.out(f"Remove login credentials for {server}\n")
    del config[server]
    _write_config(ctx, config)
    return 0
