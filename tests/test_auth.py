"""Who may use the page (app/auth.py): the users file and its scrypt hashes, the
maintainers, and the rule that a page beyond loopback needs sign-in. No model, no page."""

from __future__ import annotations

import stat

import pytest

from app import auth
from app.config import Secret, Settings
from app.errors import ConfigError, UserError

PASSWORD = "correct horse battery"


def settings_with_users(tmp_path, **more) -> Settings:
    return Settings(users_file=tmp_path / "users.txt", **more)


def test_a_password_is_stored_as_a_salted_scrypt_hash_only():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    kind, n, r, p, salt, digest = first.split("$")
    assert (kind, int(n), int(r), int(p)) == ("scrypt", 2**15, 8, 1)
    assert first != second  # a new salt each time
    assert PASSWORD not in first
    assert auth.password_matches(PASSWORD, first) and auth.password_matches(PASSWORD, second)
    assert not auth.password_matches(PASSWORD + "!", first)
    assert not auth.password_matches("", first)


def test_users_are_added_checked_and_removed_in_a_private_file(tmp_path):
    settings = settings_with_users(tmp_path)
    assert auth.add_user(settings, "alice", PASSWORD) is True
    assert auth.add_user(settings, "bob@example.org", "another password") is True
    path = settings.users_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert PASSWORD not in text and "another password" not in text
    assert sorted(auth.read_users(path)) == ["alice", "bob@example.org"]

    assert auth.check_password(settings, "alice", PASSWORD) == auth.User("alice", "password")
    assert auth.check_password(settings, " alice ", PASSWORD) is not None
    assert auth.check_password(settings, "alice", "wrong password") is None
    assert auth.check_password(settings, "mallory", PASSWORD) is None
    assert auth.check_password(settings, "bob@example.org", PASSWORD) is None

    assert auth.add_user(settings, "alice", "a new password") is False  # a new password
    assert auth.check_password(settings, "alice", PASSWORD) is None
    assert auth.check_password(settings, "alice", "a new password") is not None
    auth.remove_user(settings, "alice")
    assert list(auth.read_users(path)) == ["bob@example.org"]
    with pytest.raises(UserError, match="no user 'alice'"):
        auth.remove_user(settings, "alice")


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("alice", "short", "at least 10 characters"),
        ("al ice", PASSWORD, "cannot be a user name"),
        ("al:ice", PASSWORD, "cannot be a user name"),
        ("", PASSWORD, "cannot be a user name"),
        ("-x", PASSWORD, "cannot be a user name"),
    ],
)
def test_a_bad_name_or_short_password_is_refused_and_nothing_written(
    tmp_path, name, password, message
):
    settings = settings_with_users(tmp_path)
    with pytest.raises(UserError, match=message):
        auth.add_user(settings, name, password)
    assert not settings.users_file.exists()


def test_without_a_users_file_setting_the_message_says_how_to_set_one():
    with pytest.raises(UserError, match="PRIVACY_QA_USERS_FILE.*privacy-qa users add NAME"):
        auth.add_user(Settings(), "alice", PASSWORD)


def test_the_users_file_allows_comments_and_names_a_broken_line_without_echoing_it(tmp_path):
    settings = settings_with_users(tmp_path)
    auth.add_user(settings, "alice", PASSWORD)
    path = settings.users_file
    good = path.read_text()
    path.write_text("# team\n\n" + good)
    assert list(auth.read_users(path)) == ["alice"]
    assert auth.read_users(tmp_path / "missing.txt") == {}
    for broken in ("bob:plaintext-password", "bob:scrypt$1$2$3$%%%$abc", "bob"):
        path.write_text(good + broken + "\n")
        with pytest.raises(ConfigError, match=r"Line 3 of the users file") as caught:
            auth.read_users(path)
        assert "plaintext-password" not in str(caught.value)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="Cannot read the users file"):
        auth.read_users(path)


def test_maintainers_are_names_emails_or_groups_and_everyone_when_unset(tmp_path):
    alice = auth.User("alice", "password")
    carol = auth.User("carol@example.org", "oidc", ("staff", "privacy-team"))
    assert auth.is_maintainer(Settings(), alice)
    limited = Settings(maintainers="bob, carol@example.org")
    assert not auth.is_maintainer(limited, alice)
    assert auth.is_maintainer(limited, carol)
    by_group = Settings(maintainers="group:privacy-team")
    assert auth.is_maintainer(by_group, carol) and not auth.is_maintainer(by_group, alice)
    with pytest.raises(ConfigError, match="PRIVACY_QA_MAINTAINERS"):
        Settings(maintainers="bob carol")


def test_an_oidc_user_is_named_by_email_then_subject_with_its_groups():
    assert auth.oidc_user({"email": "a@b.org", "sub": "123", "groups": ["x"]}) == auth.User(
        "a@b.org", "oidc", ("x",)
    )
    assert auth.oidc_user({"sub": "123", "groups": "x"}) == auth.User("123", "oidc", ("x",))


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts_are_served_without_sign_in(host):
    assert auth.is_loopback(host)
    auth.check_host(Settings(), host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.org", ""])
def test_any_other_host_needs_sign_in_and_the_message_says_how(host):
    assert not auth.is_loopback(host)
    with pytest.raises(UserError) as caught:
        auth.check_host(Settings(), host)
    message = str(caught.value)
    assert "PRIVACY_QA_USERS_FILE" in message and "privacy-qa users add NAME" in message
    assert "PRIVACY_QA_OIDC_METADATA_URL" in message and "127.0.0.1" in message


def test_beyond_loopback_the_users_file_must_hold_a_user_and_oidc_be_complete(tmp_path):
    settings = settings_with_users(tmp_path)
    with pytest.raises(UserError, match="holds no users"):
        auth.check_host(settings, "0.0.0.0")
    auth.add_user(settings, "alice", PASSWORD)
    auth.check_host(settings, "0.0.0.0")

    oidc = Settings(oidc_metadata_url="https://id.example.org/.well-known/openid-configuration")
    with pytest.raises(
        UserError, match="PRIVACY_QA_OIDC_CLIENT_ID and PRIVACY_QA_OIDC_CLIENT_SECRET"
    ):
        auth.check_host(oidc, "0.0.0.0")
    complete = oidc.replace(oidc_client_id="page", oidc_client_secret=Secret("s"))
    auth.check_host(complete, "192.168.1.5")  # the default redirect names this address
    with pytest.raises(UserError, match="set PRIVACY_QA_OIDC_REDIRECT_URI"):
        auth.check_host(complete, "::")
    redirect = "https://qa.example.org/oauth2callback"
    auth.check_host(complete.replace(oidc_redirect_uri=redirect), "0.0.0.0")
    with pytest.raises(ConfigError, match="PRIVACY_QA_OIDC_REDIRECT_URI: must end with"):
        complete.replace(oidc_redirect_uri="https://qa.example.org/")
    with pytest.raises(ConfigError, match="PRIVACY_QA_OIDC_METADATA_URL"):
        Settings(oidc_metadata_url="https://user:pass@id.example.org/x")


def test_a_session_token_holds_while_signed_expired_or_the_password_kept(tmp_path):
    settings = settings_with_users(tmp_path, data_dir=tmp_path / "data", sign_in_hours=2)
    auth.add_user(settings, "alice", PASSWORD)
    auth.add_user(settings, "bob", PASSWORD)
    token = auth.session_token(settings, "alice", now=1_000_000)
    assert PASSWORD not in token
    secret = settings.data_dir / auth.SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    alice = auth.User("alice", "password")
    assert auth.session_user(settings, token, now=1_000_000 + 7199) == alice
    assert auth.session_user(settings, token) is None  # long expired by now
    fresh = auth.session_token(settings, "alice")
    assert auth.session_user(settings, fresh) == alice

    # Forged: another name under alice's signature, a changed byte, garbage.
    payload, mac = fresh.split(".")
    forged = auth.session_token(settings, "bob").split(".")[0] + "." + mac
    for bad in (forged, fresh[:-2] + "AA", "", "x", "a.b.c", "%%%.%%%", None):
        assert auth.session_user(settings, bad) is None, bad
    # Another data dir's secret does not sign for this one.
    other = settings.replace(data_dir=tmp_path / "other")
    assert auth.session_user(other, fresh) is None
    # A new password or removing the user ends the session.
    auth.add_user(settings, "alice", "a new password")
    assert auth.session_user(settings, fresh) is None
    token = auth.session_token(settings, "alice")
    auth.remove_user(settings, "alice")
    assert auth.session_user(settings, token) is None
