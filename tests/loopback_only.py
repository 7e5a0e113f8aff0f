"""Refuse every connection and name lookup that is not for this machine, before anything leaves it.

`install(record)` replaces, in this process, socket's connect, connect_ex, sendto and sendmsg on sockets, and its
getaddrinfo, gethostbyname, gethostbyname_ex, gethostbyaddr and getnameinfo, by versions that let through only
loopback addresses (127.0.0.0/8, ::1, localhost) and Unix sockets, and that raise NetworkRefused for anything else
without calling the real function: no lookup is sent and no connection is opened. Each refusal is appended to the
file `record` as one JSON line, so that a test process can see what its child processes tried.

Used by tests/network_guard.py (the pytest plugin) in the test process and, through the sitecustomize it writes, in
every Python child process of the test session. Imports nothing outside the standard library: it is loaded at the
start of each child process.

Not covered: connections that do not go through Python's socket module (libpq under psycopg, Chromium, Node), and
raw `_socket.socket` objects (rare; every library uses `socket.socket`).
"""

from __future__ import annotations

import _socket
import ipaddress
import json
import os
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any

# The real functions; the guarded ones call them through this table (a test of the guard swaps in spies).
ORIGINAL: dict[str, Callable[..., Any]] = {
    "connect": _socket.socket.connect,
    "connect_ex": _socket.socket.connect_ex,
    "sendto": _socket.socket.sendto,
    "sendmsg": _socket.socket.sendmsg,
    "getaddrinfo": _socket.getaddrinfo,
    "gethostbyname": _socket.gethostbyname,
    "gethostbyname_ex": _socket.gethostbyname_ex,
    "gethostbyaddr": _socket.gethostbyaddr,
    "getnameinfo": _socket.getnameinfo,
}
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_INET = (socket.AF_INET, socket.AF_INET6)
_record: str | None = None


class NetworkRefused(OSError):
    """A connection or lookup of a host other than this machine, refused by the test suite's network guard."""


class LookupRefused(NetworkRefused, socket.gaierror):
    """A name lookup refused: a gaierror, as when there is no network, so callers handle it as they would then."""


def is_local(host: object) -> bool:
    """Loopback and unspecified addresses, localhost names, and no host at all (a lookup to bind a server)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name in ("", "*") or name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False  # a name: looking it up asks a name server
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _refuse(call: str, target: object, error: type[NetworkRefused] = NetworkRefused) -> NetworkRefused:
    line = {
        "kind": "refused",
        "pid": os.getpid(),
        "argv": list(getattr(sys, "orig_argv", sys.argv)),
        "call": call,
        "target": repr(target),
        # Where the attempt came from: the innermost frames outside this module.
        "where": [f"{frame.filename}:{frame.lineno} {frame.name}" for frame in traceback.extract_stack()[:-2][-4:]],
    }
    _append(line)
    return error(f"network guard: {call} to {target!r} refused (only this machine may be contacted in tests)")


def _append(line: dict[str, Any]) -> None:
    if _record is None:
        print(f"network guard: {json.dumps(line)}", file=sys.stderr)
        return
    # One write of one line in append mode: lines of several processes do not interleave.
    with open(_record, "a", encoding="utf-8") as file:
        file.write(json.dumps(line) + "\n")


def _address_host(sock: socket.socket, address: object) -> object:
    """The host of an address for an IPv4 or IPv6 socket; None (nothing to check) for other families."""
    if sock.family not in _INET or not isinstance(address, tuple) or not address:
        return None
    return address[0]


def _connect(self: socket.socket, address: Any) -> None:
    host = _address_host(self, address)
    if not is_local(host):
        raise _refuse("connect", address)
    ORIGINAL["connect"](self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    host = _address_host(self, address)
    if not is_local(host):
        raise _refuse("connect", address)
    return int(ORIGINAL["connect_ex"](self, address))


def _sendto(self: socket.socket, data: Any, *args: Any) -> int:
    address = args[-1] if args else None
    if not is_local(_address_host(self, address)):
        raise _refuse("sendto", address)
    return int(ORIGINAL["sendto"](self, data, *args))


def _sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
    address = args[2] if len(args) > 2 else None
    if address is not None and not is_local(_address_host(self, address)):
        raise _refuse("sendmsg", address)
    return int(ORIGINAL["sendmsg"](self, buffers, *args))


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_local(host):
        raise _refuse("getaddrinfo", host, LookupRefused)
    return ORIGINAL["getaddrinfo"](host, *args, **kwargs)


def _gethostbyname(host: str) -> str:
    if not is_local(host):
        raise _refuse("gethostbyname", host, LookupRefused)
    return str(ORIGINAL["gethostbyname"](host))


def _gethostbyname_ex(host: str) -> Any:
    if not is_local(host):
        raise _refuse("gethostbyname_ex", host, LookupRefused)
    return ORIGINAL["gethostbyname_ex"](host)


def _gethostbyaddr(host: str) -> Any:
    if not is_local(host):
        raise _refuse("gethostbyaddr", host, LookupRefused)
    return ORIGINAL["gethostbyaddr"](host)


def _getnameinfo(address: Any, flags: int) -> Any:
    host = address[0] if isinstance(address, tuple) and address else None
    if not is_local(host):
        raise _refuse("getnameinfo", address, LookupRefused)
    return ORIGINAL["getnameinfo"](address, flags)


_SOCKET_METHODS = {"connect": _connect, "connect_ex": _connect_ex, "sendto": _sendto, "sendmsg": _sendmsg}
_LOOKUPS = {
    "getaddrinfo": _getaddrinfo,
    "gethostbyname": _gethostbyname,
    "gethostbyname_ex": _gethostbyname_ex,
    "gethostbyaddr": _gethostbyaddr,
    "getnameinfo": _getnameinfo,
}


def install(record: str | None) -> None:
    """Guard this process; refusals are appended to the file `record` (to stderr when None)."""
    global _record
    _record = record
    for name, guarded in _SOCKET_METHODS.items():
        setattr(socket.socket, name, guarded)
    for name, guarded in _LOOKUPS.items():
        setattr(_socket, name, guarded)
        if name != "getaddrinfo":
            # socket.getaddrinfo is socket.py's wrapper, which calls _socket.getaddrinfo (also for modules that did
            # `from socket import getaddrinfo` before the guard was installed); the others are _socket's own.
            setattr(socket, name, guarded)
    _append({"kind": "installed", "pid": os.getpid(), "argv": list(getattr(sys, "orig_argv", sys.argv))})


def uninstall() -> None:
    for name in _SOCKET_METHODS:
        if name in vars(socket.socket):
            delattr(socket.socket, name)  # back to _socket.socket's own
    for name in _LOOKUPS:
        setattr(_socket, name, ORIGINAL[name])
        if name != "getaddrinfo":
            setattr(socket, name, ORIGINAL[name])


def installed() -> bool:
    return vars(socket.socket).get("connect") is _connect and _socket.getaddrinfo is _getaddrinfo
