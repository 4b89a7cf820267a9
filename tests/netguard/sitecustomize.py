"""Put on PYTHONPATH of a subprocess by tests/test_ui_hosts.py: every attempt to reach
anything but this machine (a connect or sendto to a non-loopback address, a name looked up
that is neither an address nor localhost) is appended to the file NET_ATTEMPTS_FILE names
and fails with OSError, so a look-up Streamlit would make is recorded, not made. Each
process that loads it appends its pid to NET_ATTEMPTS_FILE + ".loaded"."""

import ipaddress
import os
import socket
import traceback

_FILE = os.environ.get("NET_ATTEMPTS_FILE")
_LOCAL_NAMES = {None, "", "localhost", "localhost.localdomain", "ip6-localhost"}


def _record(what: str) -> None:
    stack = "".join(traceback.format_stack(limit=12)[:-2])
    with open(_FILE, "a", encoding="utf-8") as out:
        out.write(f"=== {what}\n{stack}\n")
    raise OSError(f"blocked by the test: {what}")


def _loopback(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX
        return True
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        return str(address[0]) in _LOCAL_NAMES


def _is_literal(host) -> bool:
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
        return True
    except ValueError:
        return False


if _FILE:
    with open(f"{_FILE}.loaded", "a", encoding="utf-8") as marker:
        marker.write(f"{os.getpid()}\n")
    _connect, _connect_ex, _sendto = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.socket.sendto,
    )
    _getaddrinfo, _gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def connect(self, address):
        if not _loopback(address):
            _record(f"connect {address!r}")
        return _connect(self, address)

    def connect_ex(self, address):
        if not _loopback(address):
            _record(f"connect_ex {address!r}")
        return _connect_ex(self, address)

    def sendto(self, data, *args):
        if not _loopback(args[-1]):
            _record(f"sendto {args[-1]!r}")
        return _sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if host not in _LOCAL_NAMES and not _is_literal(host):
            _record(f"getaddrinfo {host!r}")
        return _getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        if host not in _LOCAL_NAMES and not _is_literal(host):
            _record(f"gethostbyname {host!r}")
        return _gethostbyname(host)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname
