"""Refuse well-known default credentials where others could use them.

RabbitMQ creates the user ``guest`` with the password ``guest`` on a new node, and
pika logs in as ``guest:guest`` when the URL names no user. Through the broker pass
photos of faces, their vectors and the persons' records: a broker that anyone on
the network can log into with the default credentials leaks all of them. RabbitMQ
itself refuses ``guest`` from other hosts, but the Docker image lifts that limit,
so the services check it themselves: :func:`check_broker_credentials` is called
from ``shared.config.load`` at every service's start.

The default credentials stay allowed for a broker on a loopback address
(127.0.0.0/8, ::1, ``localhost``): the development setup (``make run``) runs
RabbitMQ on this machine and reaches it only there.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import unquote, urlsplit

# What RabbitMQ creates on a new node and what pika sends when the URL has no user
# (pika.connection.Parameters.DEFAULT_USERNAME / DEFAULT_PASSWORD).
DEFAULT_BROKER_CREDENTIALS = ("guest", "guest")
# pika's Parameters.DEFAULT_HOST, used when the URL names no host.
_PIKA_DEFAULT_HOST = "localhost"


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an IP address, IPv6 without brackets) is this
    machine's loopback: ``localhost``, 127.0.0.0/8, ::1 or ::ffff:127.x.y.z.

    Other names are not resolved: a name that happens to resolve to a loopback
    address today may not tomorrow, so only the literal name ``localhost`` counts.
    """
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _broker_login(amqp_url: str) -> tuple[str, str, str]:
    """(host, username, password) the way pika's URLParameters reads the URL:
    the scheme amqp(s) read as http(s), the user and password percent-decoded,
    pika's defaults (localhost, guest:guest) where the URL names none."""
    url = "http" + amqp_url[4:] if amqp_url[:4].lower() == "amqp" else amqp_url
    parts = urlsplit(url)
    host = parts.hostname if parts.hostname is not None else _PIKA_DEFAULT_HOST
    if parts.username is None:
        username, password = DEFAULT_BROKER_CREDENTIALS
    else:
        username, password = unquote(parts.username), unquote(parts.password or "")
    return host, username, password


def check_broker_credentials(amqp_url: str) -> None:
    """Raise ``ValueError`` if ``amqp_url`` logs into a broker that is not on a
    loopback address with RabbitMQ's default credentials ``guest:guest``, written
    in the URL (plain or percent-encoded) or implied by a URL without a user.

    The message names the broker's host but never the URL's password.
    """
    host, username, password = _broker_login(amqp_url)
    if (username, password) != DEFAULT_BROKER_CREDENTIALS or is_loopback_host(host):
        return
    implied = "" if "@" in urlsplit(amqp_url).netloc else " (a URL without user:password@ logs in as guest:guest)"
    raise ValueError(
        f"AMQP_URL logs into the broker at {host!r} with RabbitMQ's default credentials "
        f"guest:guest{implied}. Anyone who reaches that broker could log in the same way "
        "and read the faces and personal data passing through it, so the default "
        "credentials are refused for any broker not on a loopback address (127.0.0.0/8, "
        "::1, localhost). Create a broker user with its own password and put it in "
        "AMQP_URL (amqp://user:password@host:5672/%2F); with docker compose set "
        "RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS in .env (see .env.example)."
    )
