"""shared/credentials.py: RabbitMQ's default login guest:guest is refused for a
broker that is not on a loopback address, however the URL spells it."""
from __future__ import annotations

import pika
import pytest

from shared.credentials import check_broker_credentials, is_loopback_host

LOOPBACK_HOSTS = ("127.0.0.1", "127.0.1.1", "127.255.255.254", "localhost", "LocalHost", "[::1]",
                  "[::ffff:127.0.0.1]", "[0:0:0:0:0:0:0:1]")
REMOTE_HOSTS = ("rabbitmq", "rabbitmq.infra.svc.cluster.local", "10.0.0.5", "192.168.1.20", "0.0.0.0",
                "[2001:db8::1]", "[::]", "[::ffff:10.0.0.5]", "localhost.example.com", "127.0.0.1.nip.io")


def _url(host: str, userinfo: str = "guest:guest@", scheme: str = "amqp", port: str = ":5672") -> str:
    return f"{scheme}://{userinfo}{host}{port}/%2F"


def _pika_login(url: str) -> tuple[str, str, str]:
    """What pika itself makes of the URL: the check must agree with it."""
    params = pika.URLParameters(url)
    return params.host, params.credentials.username, params.credentials.password


# --- the default credentials -------------------------------------------------


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
@pytest.mark.parametrize("scheme", ["amqp", "amqps"])
def test_guest_on_a_loopback_broker_is_allowed(host, scheme):
    check_broker_credentials(_url(host, scheme=scheme))


def test_the_settings_default_is_allowed():
    # shared/config.py's default: the local broker of `make run`.
    check_broker_credentials("amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.mark.parametrize("host", REMOTE_HOSTS)
@pytest.mark.parametrize("scheme", ["amqp", "amqps", "AMQP", "Amqps"])
def test_guest_on_a_remote_broker_is_refused(host, scheme):
    with pytest.raises(ValueError, match="guest:guest"):
        check_broker_credentials(_url(host, scheme=scheme))


@pytest.mark.parametrize("userinfo", [
    "%67uest:guest@",           # g percent-encoded
    "guest:%67%75%65%73%74@",   # the whole password encoded
    "%67%75%65%73%74:%67%75%65%73%74@",
    "gu%65st:gue%73t@",
])
def test_percent_encoded_guest_is_refused(userinfo):
    url = _url("rabbitmq", userinfo)
    assert _pika_login(url)[1:] == ("guest", "guest")  # pika decodes it to guest:guest
    with pytest.raises(ValueError, match="guest:guest"):
        check_broker_credentials(url)


@pytest.mark.parametrize("url", [
    "amqp://rabbitmq:5672/%2F",
    "amqp://rabbitmq/%2F",
    "amqps://rabbitmq.example.com:5671/%2F",
    "amqp://rabbitmq",
    "amqp://10.0.0.5",
])
def test_no_userinfo_means_pikas_guest_and_is_refused_for_a_remote_broker(url):
    assert _pika_login(url)[1:] == ("guest", "guest")
    with pytest.raises(ValueError, match="without user:password@"):
        check_broker_credentials(url)


@pytest.mark.parametrize("url", [
    "amqp://127.0.0.1:5672/%2F",
    "amqp://localhost/%2F",
    "amqp:///%2F",        # no host at all: pika's default, localhost
    "amqp://",
    "amqps://[::1]:5671/%2F",
])
def test_no_userinfo_on_a_loopback_broker_is_allowed(url):
    assert is_loopback_host(_pika_login(url)[0])
    check_broker_credentials(url)


# --- other credentials -----------------------------------------------------------


@pytest.mark.parametrize("host", REMOTE_HOSTS + LOOPBACK_HOSTS)
@pytest.mark.parametrize("userinfo", [
    "tracker:3f9c1a2b7d10e4c5a6b7c8d9@",
    "guest:not-the-default@",      # the guest user with a changed password
    "tracker:guest@",              # another user whose password happens to be guest
    "GUEST:GUEST@",                # RabbitMQ user names and passwords are case-sensitive
    "tr%40cker:p%40ss%3Aw%2Frd@",  # encoded @ : / in both
    ":@",                          # empty user and password: not the defaults
])
@pytest.mark.parametrize("scheme", ["amqp", "amqps"])
def test_other_credentials_are_allowed_anywhere(host, userinfo, scheme):
    check_broker_credentials(_url(host, userinfo, scheme=scheme))


def test_the_message_names_the_host_but_not_the_url():
    url = "amqp://guest:guest@rabbitmq.infra:5672/%2Fsecret-vhost"
    with pytest.raises(ValueError) as info:
        check_broker_credentials(url)
    message = str(info.value)
    assert "'rabbitmq.infra'" in message and "AMQP_URL" in message
    assert url not in message and "secret-vhost" not in message
    assert "RABBITMQ_DEFAULT_USER" in message and ".env" in message


@pytest.mark.parametrize("url", [
    _url("rabbitmq"), _url("rabbitmq", ""), _url("rabbitmq", "%67uest:guest@"),
    _url("10.0.0.5", scheme="amqps"), _url("[2001:db8::1]"),
])
def test_the_check_agrees_with_pika_on_host_and_login(url):
    host, username, password = _pika_login(url)
    assert (username, password) == ("guest", "guest") and not is_loopback_host(host)
    with pytest.raises(ValueError):
        check_broker_credentials(url)


# --- loopback -----------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "localhost.", "::1",
                                  "[::1]", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"])
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["rabbitmq", "10.0.0.1", "128.0.0.1", "0.0.0.0", "::", "::2", "2001:db8::1",
                                  "::ffff:10.0.0.1", "localhost.localdomain", "my-localhost", "", "127.0.0.1.nip.io",
                                  "fe80::1%eth0"])
def test_non_loopback_hosts(host):
    assert not is_loopback_host(host)
