"""URL normalisation for allow-list checks: a URL is compared in the form it will actually be sent in.

A FHIR server names further URLs itself (``Bundle.link[next]``, absolute references, attachment URLs); the
bearer token the EHR granted may only travel to URLs under the allow-listed base. A textual prefix check is
not enough: ``https://ehr/fhir/../admin/x`` starts with ``https://ehr/fhir/`` but the HTTP stack sends it
to ``/admin/x`` (RFC 3986 §5.2.4 removes dot segments). So the URL is normalised first (RFC 3986 §6.2.2:
case of scheme and host, percent-encoding of unreserved characters, dot segments; §6.2.3: default ports),
the *normalised* URL is checked and the normalised URL is what gets sent.

Refused outright (:func:`normalise_url` returns None), because servers disagree on what they mean: userinfo
(``https://user@host``), percent-encoded separators ``%2F`` and ``%5C``, a backslash, encoded NUL or control
characters, and dot segments hidden behind path parameters (``..;x``, read as ``..`` by some servers).
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import SplitResult, urlsplit, urlunsplit

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_FORBIDDEN_ESCAPES: Final = frozenset({"2F", "5C", "00"})
"""Escapes refused in a path: ``/`` and ``\\`` (separators some servers decode) and NUL."""


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else f"%{match.group(1).upper()}"


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4: resolve ``.`` and ``..`` segments (``/a/b/../c/./d`` → ``/a/c/d``).

    ``..`` above the root stays at the root, as in the RFC (``/../a`` → ``/a``).
    """
    output: list[str] = []
    for segment in path.split("/")[1:] if path.startswith("/") else path.split("/"):
        if segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
            continue
        output.append(segment)
    trailing = path.endswith(("/.", "/..")) or path in (".", "..")
    result = "/".join(output)
    if path.startswith("/"):
        result = "/" + result
    return result + "/" if trailing and not result.endswith("/") else result


def _normal_path(path: str) -> str | None:
    if "\\" in path or any(ord(c) < 0x21 or ord(c) == 0x7F for c in path):
        return None
    if any(m.group(1).upper() in _FORBIDDEN_ESCAPES for m in _PERCENT.finditer(path)):
        return None
    decoded = _PERCENT.sub(_decode_unreserved, path)
    if any(";" in s and s.split(";", 1)[0] in (".", "..") for s in decoded.split("/")):
        return None
    return remove_dot_segments(decoded) or "/"


def _netloc(parts: SplitResult, scheme: str) -> str | None:
    if "@" in parts.netloc or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if not host:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    if ":" in host:
        host = f"[{host}]"
    return host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"


def normalise_url(url: str) -> str | None:
    """The normal form of an absolute http(s) URL, or None when it is refused (see the module docstring).

    Scheme and host lower-cased, default port dropped, unreserved percent-escapes decoded (``%2E`` → ``.``)
    and other escapes upper-cased, dot segments removed; the query is kept as sent and the fragment dropped
    (it is never sent to a server).
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    netloc = _netloc(parts, scheme)
    path = _normal_path(parts.path or "/")
    if netloc is None or path is None:
        return None
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def is_under_base(url: str, base: str) -> bool:
    """True when ``url``, normalised, is ``base`` itself or below it (same scheme, host and port, and the
    path continues at a ``/`` or ``?``). ``base`` is normalised too; a refused URL is never under a base."""
    target, root = normalise_url(url), normalise_url(base)
    if target is None or root is None or "?" in root:
        return False
    target_parts, root_parts = urlsplit(target), urlsplit(root)
    if (target_parts.scheme, target_parts.netloc) != (root_parts.scheme, root_parts.netloc):
        return False
    root_path = root_parts.path.rstrip("/")
    return target_parts.path == root_path or target_parts.path.startswith(root_path + "/") or not root_path
