"""Subscription targets (services/subscription_targets.py) on plain values, with a fake
resolver: the e-mail syntax, https only (http too with the flag), and which addresses a
webhook may be sent to."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import pytest

from inventory.errors import InvalidRequestError
from inventory.rules.subscription_types import Channel
from inventory.services.subscription_targets import (
    Resolver,
    check_target,
    is_public,
    is_valid_email,
)


def resolver(*addresses: str) -> Resolver:
    def resolve(host: str, port: int) -> Iterable[str]:
        return addresses

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "manager@example.com",
        "first.last+inventory@bar.example.co.uk",
        "o'brien@example.ie",
        "x@xn--bcher-kva.example",
        "a@b.io",
    ],
)
def test_valid_addresses(address: str) -> None:
    assert is_valid_email(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "plain",
        "a@b",
        "a@@b.com",
        "a@b@c.com",
        ".a@b.com",
        "a.@b.com",
        "a..b@c.com",
        '"quoted"@b.com',
        "a b@c.com",
        "a@-b.com",
        "a@b-.com",
        "a@b..com",
        "a@[127.0.0.1]",
        "a@127.0.0.1",
        "a@b.c0m",
        "ü@example.com",
        "a@exämple.com",
        "x" * 65 + "@example.com",
        "a@" + "b" * 64 + ".com",
        "a@" + ".".join(["b" * 60] * 5) + ".com",
        "a@b.com\n",
    ],
)
def test_invalid_addresses(address: str) -> None:
    assert not is_valid_email(address)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("0.0.0.0", False),
        ("224.0.0.251", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:93.184.215.14", True),
        ("fd00:ec2::254", False),  # the instance metadata service over IPv6
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:5db8:d70e::", True),  # 6to4 of 93.184.215.14
        ("fec0::1", False),  # site-local
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_every_resolved_address_must_be_public() -> None:
    url = "https://hooks.example.com/x"
    assert check_target(Channel.WEBHOOK, url, allow_private=False, resolve=resolver("8.8.8.8"))
    with pytest.raises(InvalidRequestError) as refused:
        check_target(
            Channel.WEBHOOK, url, allow_private=False, resolve=resolver("8.8.8.8", "10.0.0.1")
        )
    assert [(d.location, d.field) for d in refused.value.details] == [("body", "/target")]
    with pytest.raises(InvalidRequestError):
        check_target(Channel.WEBHOOK, url, allow_private=False, resolve=resolver())


def test_the_flag_skips_the_address_check_and_admits_plain_http() -> None:
    def no_dns(host: str, port: int) -> Iterable[str]:
        raise AssertionError("not resolved")

    for url in ("https://10.0.0.1:8080/hook", "http://10.0.0.1/", "HTTP://localhost:8089/x"):
        assert check_target(Channel.WEBHOOK, url, allow_private=True, resolve=no_dns) == url
    with pytest.raises(InvalidRequestError, match=r"https:// or http://"):
        check_target(Channel.WEBHOOK, "ftp://10.0.0.1/", allow_private=True, resolve=no_dns)


def test_plain_http_is_refused_without_the_flag() -> None:
    with pytest.raises(InvalidRequestError, match=r"^Must be an https:// URL\.$"):
        check_target(
            Channel.WEBHOOK, "http://8.8.8.8/hook", allow_private=False, resolve=resolver("8.8.8.8")
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://",
        "https:///path",
        "https://hooks.example.com:99999/x",
        "https://user@hooks.example.com/x",
        "https://hooks.example.com/x#fragment",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/\x00",
        "hooks.example.com/x",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequestError):
        check_target(Channel.WEBHOOK, url, allow_private=False, resolve=resolver("8.8.8.8"))


def test_slack_targets_are_on_hooks_slack_com() -> None:
    ok = "https://hooks.slack.com/services/T0/B0/abc"
    assert check_target(Channel.SLACK, ok, allow_private=False, resolve=resolver("8.8.8.8"))
    with pytest.raises(InvalidRequestError):
        check_target(
            Channel.SLACK,
            "https://example.com/services/x",
            allow_private=False,
            resolve=resolver("8.8.8.8"),
        )


def test_an_address_keeps_its_local_part_and_lowers_its_domain() -> None:
    stored = check_target(Channel.EMAIL, "Ann.Lee@Example.COM", allow_private=False)
    assert stored == "Ann.Lee@example.com"


def test_the_system_resolver_gives_localhost_its_loopback_addresses() -> None:
    from inventory.services.subscription_targets import resolve_host

    addresses = {ipaddress.ip_address(a) for a in resolve_host("localhost", 443)}
    assert addresses
    assert all(address.is_loopback for address in addresses)
