"""Whether a subscription's target may be sent to (SPEC §10): its syntax for its channel and,
for URLs, the addresses its host resolves to.

* email: a strict syntax check, documented here instead of a dependency: an ASCII dot-atom
  local part (RFC 5322's atext, no quoted strings, no leading, trailing or double dots, at most
  64 characters) and a domain of at least two LDH labels (1 to 63 characters, no leading or
  trailing hyphen, a letter-only top label of two or more), 254 characters in all. No IP
  literals, no internationalised addresses (IDNA domains are accepted in their `xn--` form).
  Whether the mailbox exists is for delivery (SES) to find out.
* webhook and slack: an absolute `https://` URL with a host, no user or password in it, no
  fragment (`http://` too when ALLOW_PRIVATE_WEBHOOK_TARGETS is true: local development's
  receivers have no certificate); slack's host is hooks.slack.com. Every address the host
  resolves to (`socket.getaddrinfo`) must be global unicast: private, loopback, link-local
  (the instance metadata service at 169.254.169.254), shared, reserved, multicast and
  unspecified addresses are refused, IPv4-mapped IPv6 by the IPv4 address it maps, unless
  ALLOW_PRIVATE_WEBHOOK_TARGETS is true. A host that does not resolve is refused too.

The check at creation is not enough alone: a name may resolve elsewhere later (DNS
rebinding), so delivery resolves again and connects only to an address this check allows.
Every refusal is an InvalidRequestError (422) naming `/target`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

from inventory.errors import FieldProblem, InvalidRequestError
from inventory.rules.public_addresses import Address, Resolver, is_public
from inventory.rules.subscription_types import Channel

__all__ = ["Address", "Resolver", "check_target", "is_public", "is_valid_email", "resolve_host"]

SLACK_HOST = "hooks.slack.com"
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_TOP_LABEL = re.compile(r"[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}")


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _refused(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, details=[FieldProblem("body", "/target", message)])


def is_valid_email(address: str) -> bool:
    if len(address) > 254 or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    if len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    return bool(_TOP_LABEL.fullmatch(labels[-1]))


def _url(target: str, *, allow_private: bool) -> SplitResult:
    if not target.lower().startswith(("https://", "http://") if allow_private else "https://"):
        raise _refused(
            "Must be an https:// or http:// URL." if allow_private else "Must be an https:// URL."
        )
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        raise _refused("Not a URL (its host or port cannot be read).") from None
    if not parts.hostname:
        raise _refused("The URL has no host.")
    if port == 0:
        raise _refused("The URL's port must be 1 to 65535.")
    if parts.username is not None or parts.password is not None:
        raise _refused("The URL must not carry a user name or password.")
    if parts.fragment or any(c.isspace() or not c.isprintable() for c in target):
        raise _refused("The URL must have no fragment, spaces or control characters.")
    return parts


def _addresses(host: str, port: int, resolve: Resolver) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = [ipaddress.ip_address(text.split("%", 1)[0]) for text in resolve(host, port)]
    except (OSError, UnicodeError, ValueError):
        found = []
    if not found:
        raise _refused(f"The host {host} does not resolve.")
    return found


def check_target(
    channel: Channel, target: str, *, allow_private: bool, resolve: Resolver | None = None
) -> str:
    """The target as stored (an address's domain in lower case); InvalidRequestError naming
    `/target` when it is refused. `resolve` defaults to `resolve_host` (looked up per call)."""
    if channel is Channel.EMAIL:
        if not is_valid_email(target):
            raise _refused("Not an e-mail address (name@example.com).")
        local, domain = target.split("@")
        return f"{local}@{domain.lower()}"
    parts = _url(target, allow_private=allow_private)
    host = str(parts.hostname)
    if channel is Channel.SLACK and host != SLACK_HOST and not allow_private:
        raise _refused(f"A Slack incoming-webhook URL is on {SLACK_HOST}.")
    if not allow_private:
        for address in _addresses(host, parts.port or 443, resolve or resolve_host):
            if not is_public(address):
                raise _refused(
                    f"The host {host} resolves to {address}, a private, loopback, link-local "
                    "or reserved address."
                )
    return target
