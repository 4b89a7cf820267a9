"""Who may use the chat page: the users file (hashed passwords), OpenID Connect settings,
the maintainers' group, and the rule that a page served beyond loopback needs sign-in.

Passwords are hashed with scrypt (standard library ``hashlib.scrypt``: salted, slow and
memory-hard); the file holds one ``name:scrypt$N$r$p$SALT$HASH`` line per user and is
written with mode 600. No password is ever stored, logged or put in a message.
Standard library only.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.config import Settings
from app.errors import ConfigError, UserError

# scrypt's cost: 2**15 * 8 * 128 bytes = 32 MiB of memory and ~0.1 s per hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
MIN_PASSWORD_CHARS = 10
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class User:
    """A signed-in user of the page."""

    name: str  # the users file's name, or the OIDC e-mail (else its subject)
    method: str  # "password", "oidc", or "none" (no sign-in configured: a loopback page)
    groups: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------------------ hashing


def hash_password(password: str) -> str:
    """The stored form of ``password``: ``scrypt$N$r$p$SALT$HASH`` (base64)."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)]
    )


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` hashes to ``stored`` (compared in constant time)."""
    kind, n, r, p, salt, digest = stored.split("$")
    expected = base64.b64decode(digest)
    got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    return kind == "scrypt" and hmac.compare_digest(got, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, size: int = HASH_BYTES) -> bytes:
    memory = 128 * n * r * p + 1024 * 1024
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=size
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@functools.cache
def _decoy() -> str:
    """A hash to check an unknown name against: it takes as long as a known one."""
    return hash_password(secrets.token_urlsafe(16))


# --------------------------------------------------------------------------- the file


def users_file(settings: Settings) -> Path:
    """The users file the settings name; a UserError saying how to name one otherwise."""
    if settings.users_file is None:
        raise UserError(
            "No users file is set: set PRIVACY_QA_USERS_FILE to a file path (e.g. "
            ".data/users.txt), then run `privacy-qa users add NAME`."
        )
    return settings.users_file


def read_users(path: Path) -> dict[str, str]:
    """Name -> stored hash from a users file (``#`` comments and blank lines skipped).
    A missing file holds no users; a malformed line is a ConfigError naming its number."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the users file {path} ({exc}).") from None
    users: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, stored = line.partition(":")
        if not NAME.fullmatch(name) or not _well_formed(stored):
            raise ConfigError(
                f"Line {number} of the users file {path} is not NAME:scrypt$N$r$p$SALT$HASH: "
                "fix or delete it, and add the user again with `privacy-qa users add NAME`."
            )
        users[name] = stored
    return users


def _well_formed(stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
        return False
    try:
        return all(base64.b64decode(p, validate=True) for p in parts[4:])
    except ValueError:
        return False


def write_users(path: Path, users: dict[str, str]) -> None:
    """Replace the users file (mode 600) with ``users``, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# privacy-qa users: NAME:scrypt$N$r$p$SALT$HASH (privacy-qa users add NAME)\n"
    text += "".join(f"{name}:{stored}\n" for name, stored in sorted(users.items()))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def add_user(settings: Settings, name: str, password: str) -> bool:
    """Add ``name`` with ``password`` (or set a new password); True if it was new."""
    if not NAME.fullmatch(name):
        raise UserError(
            f"{name!r} cannot be a user name: use letters, digits and . _ @ - "
            "(at most 64, starting with a letter or digit)."
        )
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"The password is too short: use at least {MIN_PASSWORD_CHARS} characters.")
    path = users_file(settings)
    users = read_users(path)
    new = name not in users
    users[name] = hash_password(password)
    write_users(path, users)
    return new


def remove_user(settings: Settings, name: str) -> None:
    path = users_file(settings)
    users = read_users(path)
    if users.pop(name, None) is None:
        raise UserError(f"There is no user {name!r} in {path}: see `privacy-qa users list`.")
    write_users(path, users)


def check_password(settings: Settings, name: str, password: str) -> User | None:
    """The user if ``name`` is in the users file and ``password`` is theirs, else None."""
    users = read_users(users_file(settings))
    stored = users.get(name.strip())
    matches = password_matches(password, stored or _decoy())
    return User(name.strip(), "password") if stored and matches else None


def oidc_user(claims: dict) -> User:
    """The user an OpenID Connect id token's claims name: the e-mail (else the subject),
    with the ``groups`` claim if the provider sends one."""
    groups = claims.get("groups") or []
    groups = groups if isinstance(groups, list) else [groups]
    name = claims.get("email") or claims.get("sub") or "(unnamed)"
    return User(str(name), "oidc", tuple(str(group) for group in groups))


# ------------------------------------------------------------------ sessions (a cookie)

SECRET_FILE = "auth-cookie-secret"  # in the data dir: shared by every page on it


def cookie_secret(settings: Settings) -> str:
    """The secret signing sign-in cookies (ours and st.login's): made once, mode 600, in
    the data dir, so every page process on the same data dir accepts the same cookie."""
    path = settings.data_dir / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another page made it meanwhile: use theirs
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(value + "\n")
        return value


def session_token(settings: Settings, name: str, now: float | None = None) -> str:
    """A signed token saying ``name`` signed in with a password, valid for
    ``sign_in_hours`` and only while the user keeps the same password."""
    stored = read_users(users_file(settings))[name]
    expires = int((time.time() if now is None else now) + settings.sign_in_hours * 3600)
    payload = f"{name}|{expires}|{_stamp(stored)}"
    return f"{_b64url(payload.encode())}.{_mac(settings, payload)}"


def session_user(settings: Settings, token: str | None, now: float | None = None) -> User | None:
    """The user a :func:`session_token` names, if its signature holds, it has not expired
    and the user is still in the users file with the same password; else None."""
    if not token or token.count(".") != 1 or settings.users_file is None:
        return None
    encoded, mac = token.split(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        name, expires, stamp = payload.split("|")
        expired = int(expires) < (time.time() if now is None else now)
    except ValueError:
        return None
    if expired or not hmac.compare_digest(mac, _mac(settings, payload)):
        return None
    stored = read_users(settings.users_file).get(name)
    if stored is None or not hmac.compare_digest(stamp, _stamp(stored)):
        return None
    return User(name, "password")


def _stamp(stored: str) -> str:
    return hashlib.sha256(stored.encode()).hexdigest()[:16]


def _mac(settings: Settings, payload: str) -> str:
    key = hashlib.sha256(b"privacy-qa password session|" + cookie_secret(settings).encode())
    digest = hmac.new(key.digest(), payload.encode(), hashlib.sha256).digest()
    return _b64url(digest)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


# -------------------------------------------------------------------------- who may do what


def oidc_configured(settings: Settings) -> bool:
    return bool(settings.oidc_metadata_url)


def sign_in_required(settings: Settings) -> bool:
    """Whether the page asks who you are (a users file or OIDC is configured)."""
    return settings.users_file is not None or oidc_configured(settings)


def is_maintainer(settings: Settings, user: User) -> bool:
    """Whether ``user`` may Reindex, upload and delete (everyone if no maintainers are set)."""
    if settings.maintainers is None:
        return True
    allowed = set(settings.maintainers.split(","))
    return user.name in allowed or any(f"group:{group}" in allowed for group in user.groups)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address only this machine reaches."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(settings: Settings, host: str) -> None:
    """Refuse to serve the page on ``host`` beyond loopback without sign-in (UserError)."""
    if is_loopback(host):
        return
    if not sign_in_required(settings):
        raise UserError(
            f"Listening on {host} lets anyone on the network read the documents and ask "
            "questions, and no sign-in is configured. Set PRIVACY_QA_USERS_FILE and add users "
            "with `privacy-qa users add NAME`, or set PRIVACY_QA_OIDC_METADATA_URL, "
            "PRIVACY_QA_OIDC_CLIENT_ID and PRIVACY_QA_OIDC_CLIENT_SECRET (README: 'Sharing "
            "with a team'); or keep the page on 127.0.0.1."
        )
    if oidc_configured(settings):
        check_oidc(settings)
        if settings.oidc_redirect_uri is None and host.strip("[]") in ("0.0.0.0", "::"):
            raise UserError(
                f"With --host {host} the sign-in provider cannot guess the page's address: "
                "set PRIVACY_QA_OIDC_REDIRECT_URI to it as users reach it, followed by "
                "/oauth2callback (e.g. https://qa.example.org/oauth2callback), and register "
                "that at the provider."
            )
    if settings.users_file is not None and not read_users(settings.users_file):
        raise UserError(
            f"The users file {settings.users_file} holds no users, so nobody could sign in: "
            "add one with `privacy-qa users add NAME`."
        )


def check_oidc(settings: Settings) -> None:
    missing = [
        name
        for name, value in (
            ("PRIVACY_QA_OIDC_CLIENT_ID", settings.oidc_client_id),
            ("PRIVACY_QA_OIDC_CLIENT_SECRET", settings.oidc_client_secret),
        )
        if not value
    ]
    if missing:
        raise UserError(
            f"OpenID Connect sign-in needs {' and '.join(missing)} as well as "
            "PRIVACY_QA_OIDC_METADATA_URL: set them (the provider gives both)."
        )
