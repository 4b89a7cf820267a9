"""Sign-in for the chat page, drawn before anything else: :func:`gate` runs first on every
run and, until someone has signed in, draws only the sign-in form and stops the run, so
no document, chat or sidebar reaches a visitor without a session.

Two ways in (``qa.sign_in_methods``): a name and password checked against the users file
(PRIVACY_QA_USERS_FILE), kept in this browser tab's session; and OpenID Connect through
Streamlit's own ``st.login`` (its cookie; ``privacy-qa ui`` writes its [auth] secrets).
Without either, the page is open, which ``privacy-qa ui`` allows on loopback only; the
page itself refuses to show anything when its server listens beyond loopback.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import streamlit as st

from app import qa
from app.config import Settings
from app.errors import UserError
from app.ui import guard
from app.ui.markup import escape_markdown

log = logging.getLogger(__name__)

USER_KEY = "signed-in-user"  # the qa.User of this browser session
COOKIE = "privacy_qa_session"  # a password sign-in, signed (qa.session_token)
TOKEN_KEY = "session-token"  # this session's token, checked again on every run
SIGNED_OUT = "signed-out"  # this session signed out: its cookie no longer counts
NEW_COOKIE = "new-session-cookie"  # a token to hand the browser on the next run
CLEAR_COOKIE = "clear-session-cookie"  # signed out: take the cookie back on the next run
MAX_FAILURES = 5  # wrong passwords for one name before it must wait
LOCKOUT_S = 30.0
MAX_TRACKED = 1000  # names with recent failures kept before stale ones are dropped

# name -> (failures in a row, time of the last one); per page process.
_failures: dict[str, tuple[int, float]] = {}
_failures_lock = threading.Lock()


def gate(settings: Settings):
    """The signed-in user (a ``qa.User``; ``None`` on an open loopback page), or the
    sign-in page and the end of this run."""
    methods = qa.sign_in_methods(settings)
    if not methods:
        _refuse_if_exposed(settings)
    user = _current(settings, methods) if methods else None
    if methods and user is None:
        _sign_in_page(settings, methods)
        st.stop()
    if user is not None:
        _signed_in(settings, user)
    if settings.audit_path is not None and settings.audit_questions:
        st.info(
            "This page keeps an audit log that includes the text of your questions "
            "(PRIVACY_QA_AUDIT_QUESTIONS is on)."
        )
    return user


def current_user():
    """The signed-in ``qa.User`` of this session, if any (for the audit log)."""
    return st.session_state.get(USER_KEY)


def user_name() -> str | None:
    user = current_user()
    return user.name if user is not None else None


def can_maintain(settings: Settings) -> bool:
    """Whether this session may Reindex, upload and delete (PRIVACY_QA_MAINTAINERS)."""
    user = current_user()
    if user is None:  # an open loopback page: the person at this machine
        return settings.maintainers is None
    return qa.is_maintainer(settings, user)


def audit(settings: Settings, action: str, **fields) -> None:
    """Log ``action`` of this session's user (if the audit log is on); a log that cannot
    be written is shown, not hidden."""
    try:
        qa.audit(settings, user_name(), action, **fields)
    except UserError as exc:
        st.error(str(exc))


def audited(settings: Settings, keep):
    """``keep`` (the conversation's append) that also logs each answer or error kept."""

    def keep_and_log(message: dict) -> None:
        keep(message)
        try:
            if "answer" in message:
                qa.audit_answer(settings, user_name(), message["answer"])
            elif "error" in message:
                qa.audit(settings, user_name(), "answer", error=message["error"][:200])
        except UserError as exc:
            st.error(str(exc))

    return keep_and_log


# ---------------------------------------------------------------------------- drawing


def _refuse_if_exposed(settings: Settings) -> None:
    """Nothing but a refusal when the server listens beyond loopback without sign-in
    (``streamlit run`` with another address; ``privacy-qa ui`` refuses to start)."""
    address, _ = guard.served_address()
    try:
        qa.check_listen_host(settings, address)
    except UserError as exc:
        st.error(str(exc))
        st.stop()


def _current(settings: Settings, methods: list[str]):
    user = st.session_state.get(USER_KEY)
    # Checked on every run: an expired sign-in, a new password or a removed user ends the
    # session at once, in open tabs too.
    token = st.session_state.get(TOKEN_KEY)
    if user is not None and user.method == "password" and not qa.session_user(settings, token):
        st.session_state.clear()
        user = None
    if user is None and "password" in methods and not st.session_state.get(SIGNED_OUT):
        # A sign-in of this browser in another tab, or before a reload.
        token = st.context.cookies.get(COOKIE)
        user = qa.session_user(settings, token)
        if user is not None:
            st.session_state[USER_KEY], st.session_state[TOKEN_KEY] = user, token
    if user is None and "oidc" in methods and st.user.is_logged_in:
        user = qa.oidc_user(st.user.to_dict())
        st.session_state[USER_KEY] = user
        audit(settings, "sign-in")  # once per browser session
    return user


def _sign_in_page(settings: Settings, methods: list[str]) -> None:
    if st.session_state.pop(CLEAR_COOKIE, False):
        _set_cookie("", 0)  # signed out: the browser forgets the password sign-in
    st.title("Sign in to privacy-qa")
    st.caption("This page answers questions about the indexed documents for signed-in users.")
    if "oidc" in methods and st.button("Sign in with your organisation's account"):
        st.login()
    if "password" not in methods:
        return
    with st.form("sign-in", clear_on_submit=True):  # the password is not kept
        name = st.text_input("Name", key="sign-in-name")
        password = st.text_input("Password", type="password", key="sign-in-password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        _check(settings, name.strip(), password)


def _check(settings: Settings, name: str, password: str) -> None:
    wait = _lockout(name)
    if wait > 0:
        st.error(f"Too many wrong passwords for this name: wait {wait:.0f} s and try again.")
        return
    try:
        user = qa.check_password(settings, name, password)
    except UserError as exc:  # an unreadable users file: the operator must fix it
        log.error("sign-in: %s", exc)
        st.error("Sign-in is not available: the users file cannot be read (see the log).")
        return
    if user is None:
        _count_failure(name)  # unknown names too: the lockout must not tell them apart
        known = name in qa.user_names(settings)
        audit(settings, "sign-in-refused", detail={"name": name if known else "(unknown)"})
        st.error("Wrong name or password.")
        return
    with _failures_lock:
        _failures.pop(name, None)
    token = qa.session_token(settings, user.name)
    st.session_state[USER_KEY], st.session_state[TOKEN_KEY] = user, token
    st.session_state.pop(SIGNED_OUT, None)
    st.session_state[NEW_COOKIE] = token
    audit(settings, "sign-in")
    st.rerun()


def _lockout(name: str) -> float:
    with _failures_lock:
        failures, last = _failures.get(name, (0, 0.0))
    if failures < MAX_FAILURES:
        return 0.0
    return max(0.0, last + LOCKOUT_S - time.monotonic())


def _count_failure(name: str) -> None:
    now = time.monotonic()
    with _failures_lock:
        failures, _ = _failures.get(name, (0, 0.0))
        _failures[name] = (failures + 1, now)
        if len(_failures) > MAX_TRACKED:  # names sprayed at the form: forget the stale ones
            for stale in [n for n, (_, last) in _failures.items() if last < now - LOCKOUT_S]:
                del _failures[stale]


def _set_cookie(token: str, seconds: float) -> None:
    """Give the browser the session cookie (or, with ``seconds`` 0, take it back). Set by
    script, so the page's own scripts could read it; the page runs none but Streamlit's,
    and every document text is escaped (app/ui/markup.py)."""
    attributes = f"Path=/; Max-Age={int(seconds)}; SameSite=Strict"
    script = (
        f"document.cookie = {json.dumps(f'{COOKIE}={token}; {attributes}')}"
        " + (location.protocol === 'https:' ? '; Secure' : '');"
    )
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def _signed_in(settings: Settings, user) -> None:
    """Who is signed in and Sign out, atop the sidebar."""
    with st.sidebar:
        st.caption(f"Signed in as **{escape_markdown(user.name)}**")
        token = st.session_state.pop(NEW_COOKIE, None)
        if token is not None:
            _set_cookie(token, settings.sign_in_hours * 3600)
        if st.button("Sign out", key="sign-out"):
            st.session_state.clear()
            st.session_state[SIGNED_OUT] = True  # for this session, and once for the browser
            st.session_state[CLEAR_COOKIE] = True
            if user.method == "oidc":
                st.logout()
            st.rerun()
