"""The Helm chart (deploy/helm/attendance-tracker/), linted and rendered by helm itself
and checked against the pipeline declaration (shared/pipeline.py): a service declared
there without its entry in the chart's values, or a Deployment without its probes,
resources or security context, makes a test here fail.

No cluster is needed: `helm lint --strict` and `helm template` run offline. helm is
built by scripts/setup.sh (into $ASSETS_DIR/bin when it is not on PATH).
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared.config import Settings
from shared.pipeline import GATEWAY, SERVICES, STAGES, service, stage

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "attendance-tracker"
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
RELEASE = "attendance"
FULLNAME = f"{RELEASE}-attendance-tracker"
APP_SERVICES = tuple(s.name for s in SERVICES)
# The gateway keeps persons and attendance in MongoDB; a stage says whether it does.
NEEDS_DATABASE = {GATEWAY.name} | {s.name for s in STAGES if s.needs_database}
# The stages KEDA scales on their queue's depth by default.
AUTOSCALED = ("detector", "embedder")
CONNECTION_VARIABLES = ("AMQP_URL", "MONGO_URI", "API_TOKENS", "API_ADMIN_KEY")
UID = 10001  # the user app of the Dockerfile


def _helm() -> str:
    exe = shutil.which("helm")
    if exe:
        return exe
    assets = os.environ.get("ASSETS_DIR") or Settings().assets_dir
    candidate = Path(assets) / "bin" / "helm"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    pytest.fail(f"helm is not installed (not on PATH, not at {candidate}): run scripts/setup.sh", pytrace=False)


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([_helm(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if check:
        assert done.returncode == 0, f"helm {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done


def render(*args: str, values: dict | None = None, tmp_path: Path | None = None) -> list[dict]:
    """`helm template` of the chart, parsed: one dict per Kubernetes object."""
    extra = []
    if values is not None:
        assert tmp_path is not None
        path = tmp_path / "values.yaml"
        path.write_text(yaml.safe_dump(values))
        extra = ["-f", str(path)]
    done = helm("template", RELEASE, str(CHART), *extra, *args)
    return _parse(done.stdout)


def _parse(text: str) -> list[dict]:
    docs = [d for d in yaml.safe_load_all(text) if d]
    for d in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(d), d
    return docs


def _of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    """Objects of one kind by their component label (the service's name)."""
    out = {}
    for d in docs:
        if d["kind"] == kind:
            key = d["metadata"].get("labels", {}).get("app.kubernetes.io/component", d["metadata"]["name"])
            assert key not in out, f"two {kind} objects for {key}"
            out[key] = d
    return out


def _container(deployment: dict) -> dict:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict) -> dict[str, dict]:
    env = container.get("env") or []
    names = [e["name"] for e in env]
    assert len(names) == len(set(names)), f"duplicate environment variables in {names}"
    return {e["name"]: e for e in env}


def _probe_port(container: dict, probe: dict) -> int:
    port = probe["httpGet"]["port"]
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return number


@pytest.fixture(scope="module")
def default_render() -> tuple[str, list[dict]]:
    done = helm("template", RELEASE, str(CHART))
    return done.stdout, _parse(done.stdout)


@pytest.fixture(scope="module")
def docs(default_render) -> list[dict]:
    return default_render[1]


@pytest.fixture(scope="module")
def keda_off() -> list[dict]:
    return _parse(helm("template", RELEASE, str(CHART), "--set", "keda.enabled=false").stdout)


# --- the chart as helm sees it ------------------------------------------------


def test_chart_lints_strictly():
    done = helm("lint", "--strict", str(CHART))
    assert "0 chart(s) failed" in done.stdout, done.stdout


def test_chart_is_helm_3():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "attendance-tracker"


# --- values.yaml declares the services of shared/pipeline.py -------------------


def test_values_declare_exactly_the_pipeline_services():
    assert sorted(VALUES["services"]) == sorted(APP_SERVICES), (
        "deploy/helm/attendance-tracker/values.yaml `services` must have one entry per service of shared/pipeline.py")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_values_ports_queues_and_database_equal_the_pipeline(name):
    entry, declared = VALUES["services"][name], service(name)
    assert entry["port"] == declared.port, f"{name}: values port {entry['port']}, shared/pipeline.py {declared.port}"
    assert entry["portVariable"] == declared.port_variable
    if name == GATEWAY.name:
        assert not entry.get("queue"), "the gateway consumes no queue"
    else:
        assert entry["queue"] == stage(name).queue, f"{name}: values queue {entry.get('queue')!r}"
    assert bool(entry.get("needsDatabase")) == (name in NEEDS_DATABASE), f"{name}: needsDatabase"


# --- Deployments ------------------------------------------------------------------


def test_one_deployment_per_service(docs):
    deployments = _of_kind(docs, "Deployment")
    assert sorted(deployments) == sorted(APP_SERVICES)
    for name, d in deployments.items():
        assert d["metadata"]["name"] == f"{FULLNAME}-{name}"
        assert _container(d)["name"] == name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_deployment_probes_its_port(docs, name):
    container = _container(_of_kind(docs, "Deployment")[name])
    port = service(name).port
    assert [p["containerPort"] for p in container["ports"]] == [port]
    ready, alive = container["readinessProbe"], container["livenessProbe"]
    assert ready["httpGet"]["path"] == "/readyz" and _probe_port(container, ready) == port
    assert alive["httpGet"]["path"] == "/healthz" and _probe_port(container, alive) == port
    startup = container.get("startupProbe")
    if startup:  # /healthz answers while a model loads: never /readyz here
        assert startup["httpGet"]["path"] == "/healthz" and _probe_port(container, startup) == port


@pytest.mark.parametrize("name", APP_SERVICES)
def test_deployment_listens_on_the_declared_port(docs, name):
    # The service reads its port from its port variable: set it, so the probes and the
    # Service point where it listens.
    declared = service(name)
    env = _env(_container(_of_kind(docs, "Deployment")[name]))
    assert env[declared.port_variable].get("value") == str(declared.port)
    if name == GATEWAY.name:
        assert env["GATEWAY_HOST"]["value"] == "0.0.0.0"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_deployment_has_resources(docs, name):
    resources = _container(_of_kind(docs, "Deployment")[name]).get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    assert requests.get("cpu") and requests.get("memory"), f"{name}: requests {requests}"
    assert limits.get("memory"), f"{name}: no memory limit"


def _mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(Mi|Gi)", quantity).groups()
    return float(number) * (1024 if unit == "Gi" else 1)


@pytest.mark.parametrize("name", ["detector", "embedder"])
def test_tensorflow_workers_get_a_gibibyte_or_more(docs, name):
    resources = _container(_of_kind(docs, "Deployment")[name])["resources"]
    assert _mebibytes(resources["requests"]["memory"]) >= 1024
    assert 1024 <= _mebibytes(resources["limits"]["memory"]) <= 4096


@pytest.mark.parametrize("name", APP_SERVICES)
def test_deployment_runs_as_the_image_user_with_a_read_only_root(docs, name):
    pod = _of_kind(docs, "Deployment")[name]["spec"]["template"]["spec"]
    container = _container(_of_kind(docs, "Deployment")[name])
    context = {**(pod.get("securityContext") or {}), **(container.get("securityContext") or {})}
    assert context.get("runAsNonRoot") is True
    assert context.get("runAsUser") == UID
    assert container["securityContext"].get("allowPrivilegeEscalation") is False
    assert container["securityContext"].get("readOnlyRootFilesystem") is True
    assert container["securityContext"].get("capabilities", {}).get("drop") == ["ALL"]
    assert pod.get("automountServiceAccountToken") is False
    # TensorFlow, Keras and gunicorn need a writable /tmp: an emptyDir.
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    assert "/tmp" in mounts and "emptyDir" in volumes[mounts["/tmp"]]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_deployment_image_per_service(docs, name):
    container = _container(_of_kind(docs, "Deployment")[name])
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert container["image"] == f"attendance-tracker/{name}:{chart['appVersion']}"


def test_registry_prefix_and_tag_from_values():
    docs = _parse(helm("template", RELEASE, str(CHART), "--set", "image.registry=registry.example.com/team/",
                       "--set", "image.tag=1.2.3").stdout)
    for name, d in _of_kind(docs, "Deployment").items():
        assert _container(d)["image"] == f"registry.example.com/team/attendance-tracker/{name}:1.2.3"


def test_embedder_caches_the_model_in_a_volume(docs, tmp_path):
    def cache(docs):
        d = _of_kind(docs, "Deployment")["embedder"]
        container, pod = _container(d), d["spec"]["template"]["spec"]
        path = _env(container)["KERAS_FACENET_CACHE"]["value"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert path in mounts, f"nothing mounted at KERAS_FACENET_CACHE={path}"
        return {v["name"]: v for v in pod["volumes"]}[mounts[path]]

    assert "emptyDir" in cache(docs)
    claimed = render(values={"services": {"embedder": {"modelCache": {"existingClaim": "facenet-cache"}}}},
                     tmp_path=tmp_path)
    assert cache(claimed)["persistentVolumeClaim"] == {"claimName": "facenet-cache"}


# --- connections and credentials ------------------------------------------------

# user:password@ in a URL; "guest:guest" is compose's broker login.
CREDENTIALS = re.compile(r"\w+://[^\s/@\"']*:[^\s/@\"']*@|guest:guest", re.IGNORECASE)


def _secret_names(docs: list[dict]) -> set[str]:
    names = set()
    for d in _of_kind(docs, "Deployment").values():
        for e in _env(_container(d)).values():
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                names.add(ref["name"])
    return names


@pytest.mark.parametrize("name", APP_SERVICES)
def test_connections_come_from_the_secret_only(docs, name):
    env = _env(_container(_of_kind(docs, "Deployment")[name]))
    expected = {"AMQP_URL"} | ({"MONGO_URI"} if name in NEEDS_DATABASE else set())
    assert expected <= set(env), f"{name}: missing {expected - set(env)}"
    if name not in NEEDS_DATABASE:
        assert "MONGO_URI" not in env, f"{name} does not use the database"
    for variable in CONNECTION_VARIABLES:
        if variable in env:
            assert "value" not in env[variable], f"{name}: {variable} has a literal value"
            ref = env[variable]["valueFrom"]["secretKeyRef"]
            assert ref["name"] and ref["key"]
            assert ref.get("optional", False) == (variable == "API_TOKENS"), f"{name}: {variable} optional"


def test_no_literal_credentials_in_the_default_render(default_render):
    text, docs = default_render
    assert not CREDENTIALS.search(text), CREDENTIALS.search(text).group(0)
    assert "Secret" not in {d["kind"] for d in docs}, "the default uses secret.existingSecret"
    assert _secret_names(docs) == {VALUES["secret"]["existingSecret"]}


def test_created_secret_keeps_credentials_out_of_plain_text(tmp_path):
    amqp = "amqp://tracker:Amqp-Pw-73c1@rabbitmq.infra:5672/%2F"
    mongo = "mongodb://tracker:Mongo-Pw-91d4@mongo.infra:27017/"
    tokens = "console:Api-Token-0123456789abcdef"
    admin = "Admin-Key-fedcba9876543210"
    path = tmp_path / "secrets.yaml"
    path.write_text(yaml.safe_dump({"secret": {"create": True, "amqpUrl": amqp, "mongoUri": mongo, "apiTokens": tokens,
                                               "apiAdminKey": admin}}))
    text = helm("template", RELEASE, str(CHART), "-f", str(path)).stdout
    for secret in ("Amqp-Pw-73c1", "Mongo-Pw-91d4", "Api-Token-0123456789abcdef", admin):
        assert secret not in text, f"{secret} appears in the rendered manifests"
    assert not CREDENTIALS.search(text)
    docs = _parse(text)
    (created,) = [d for d in docs if d["kind"] == "Secret"]
    assert "stringData" not in created
    data = {k: base64.b64decode(v).decode() for k, v in created["data"].items()}
    assert data == {"AMQP_URL": amqp, "MONGO_URI": mongo, "API_TOKENS": tokens, "API_ADMIN_KEY": admin}
    assert _secret_names(docs) == {created["metadata"]["name"]}
    (auth,) = [d for d in docs if d["kind"] == "TriggerAuthentication"]
    assert {r["name"] for r in auth["spec"]["secretTargetRef"]} == {created["metadata"]["name"]}


def test_created_secret_needs_its_values():
    done = helm("template", RELEASE, str(CHART), "--set", "secret.create=true", check=False)
    assert done.returncode != 0 and "secret.amqpUrl is required" in done.stderr, done.stderr


@pytest.mark.parametrize("where", ["env", "services.matcher.env"])
def test_connection_urls_as_plain_values_are_refused(where, tmp_path):
    values: dict = {}
    node = values
    for key in where.split("."):
        node = node.setdefault(key, {})
    node["MONGO_URI"] = "mongodb://user:password@mongo:27017/"
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    done = helm("template", RELEASE, str(CHART), "-f", str(path), check=False)
    assert done.returncode != 0 and "MONGO_URI is set by the chart" in done.stderr, done.stderr


# --- settings from values -----------------------------------------------------------


@pytest.mark.parametrize("name", APP_SERVICES)
def test_common_settings_reach_every_service(docs, name):
    env = _env(_container(_of_kind(docs, "Deployment")[name]))
    for key, value in VALUES["env"].items():
        assert env[key]["value"] == str(value), f"{name}: {key}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_service_settings_reach_their_service(docs, name):
    env = _env(_container(_of_kind(docs, "Deployment")[name]))
    for key, value in (VALUES["services"][name].get("env") or {}).items():
        assert env[key]["value"] == str(value), f"{name}: {key}"


def test_embedder_model_is_set(docs):
    env = _env(_container(_of_kind(docs, "Deployment")["embedder"]))
    assert env["EMBEDDER_MODEL"]["value"] == VALUES["services"]["embedder"]["env"]["EMBEDDER_MODEL"]


def test_extra_env_is_passed_through(tmp_path):
    docs = render(values={
        "extraEnv": [{"name": "TZ", "value": "Asia/Kolkata"}],
        "services": {"matcher": {"env": {"MATCH_THRESHOLD": "0.5"},
                                 "extraEnv": [{"name": "MATCH_TOP_K", "valueFrom": {
                                     "configMapKeyRef": {"name": "tuning", "key": "top_k"}}}]}},
    }, tmp_path=tmp_path)
    for name, d in _of_kind(docs, "Deployment").items():
        assert _env(_container(d))["TZ"] == {"name": "TZ", "value": "Asia/Kolkata"}, name
    matcher = _env(_container(_of_kind(docs, "Deployment")["matcher"]))
    assert matcher["MATCH_THRESHOLD"]["value"] == "0.5"
    # A name in extraEnv replaces the same name of env (no duplicate variables).
    assert matcher["MATCH_TOP_K"] == {"name": "MATCH_TOP_K",
                                      "valueFrom": {"configMapKeyRef": {"name": "tuning", "key": "top_k"}}}


# --- Services, disruption budget, metrics ------------------------------------------


def test_gateway_service_on_8080(docs):
    gateway = _of_kind(docs, "Service")[GATEWAY.name]
    assert gateway["spec"].get("type", "ClusterIP") in ("ClusterIP", "LoadBalancer", "NodePort")
    assert gateway["spec"].get("clusterIP") != "None"
    (port,) = gateway["spec"]["ports"]
    assert port["port"] == GATEWAY.port == 8080
    container = _container(_of_kind(docs, "Deployment")[GATEWAY.name])
    assert _probe_port(container, {"httpGet": {"port": port["targetPort"]}}) == GATEWAY.port


@pytest.mark.parametrize("name", APP_SERVICES)
def test_service_selects_its_pods(docs, name):
    selector = _of_kind(docs, "Service")[name]["spec"]["selector"]
    for other, d in _of_kind(docs, "Deployment").items():
        labels = d["spec"]["template"]["metadata"]["labels"]
        selected = all(labels.get(k) == v for k, v in selector.items())
        assert selected == (other == name), f"Service {name} {'misses' if other == name else 'selects'} {other}"


@pytest.mark.parametrize("name", [s.name for s in STAGES])
def test_worker_metrics_services_are_headless_and_scraped(docs, name):
    svc = _of_kind(docs, "Service")[name]
    assert svc["spec"].get("clusterIP") == "None"
    assert [p["port"] for p in svc["spec"]["ports"]] == [stage(name).port]
    annotations = svc["metadata"].get("annotations") or {}
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/port") == str(stage(name).port)
    assert annotations.get("prometheus.io/path") == "/metrics"


def test_service_monitor_behind_a_flag(docs):
    assert "ServiceMonitor" not in {d["kind"] for d in docs}
    on = _parse(helm("template", RELEASE, str(CHART), "--set", "metrics.serviceMonitor.enabled=true").stdout)
    (monitor,) = [d for d in on if d["kind"] == "ServiceMonitor"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = {n for n, s in _of_kind(on, "Service").items()
                if all(s["metadata"]["labels"].get(k) == v for k, v in selector.items())}
    assert selected == set(APP_SERVICES)
    assert [e["path"] for e in monitor["spec"]["endpoints"]] == ["/metrics"]
    # Jobs named after the services, as deploy/prometheus/alerts.yml expects.
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/component"


def test_gateway_has_a_disruption_budget(docs):
    budgets = _of_kind(docs, "PodDisruptionBudget")
    assert set(budgets) == {GATEWAY.name}
    budget = budgets[GATEWAY.name]
    labels = _of_kind(docs, "Deployment")[GATEWAY.name]["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in budget["spec"]["selector"]["matchLabels"].items())
    assert "maxUnavailable" in budget["spec"] or "minAvailable" in budget["spec"]


# --- KEDA ---------------------------------------------------------------------------


def test_keda_is_on_by_default_for_the_detector_and_the_embedder(docs):
    assert VALUES["keda"]["enabled"] is True
    assert sorted(_of_kind(docs, "ScaledObject")) == sorted(AUTOSCALED)


@pytest.mark.parametrize("name", AUTOSCALED)
def test_scaled_object_targets_its_deployment_and_queue(docs, name):
    scaled = _of_kind(docs, "ScaledObject")[name]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    deployment = _of_kind(docs, "Deployment")[name]
    target = scaled["spec"]["scaleTargetRef"]
    assert target["name"] == deployment["metadata"]["name"]
    assert target.get("kind", "Deployment") == "Deployment"
    auto = VALUES["services"][name]["autoscaling"]
    assert scaled["spec"]["minReplicaCount"] == auto["minReplicas"]
    assert scaled["spec"]["maxReplicaCount"] == auto["maxReplicas"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "rabbitmq"
    meta = trigger["metadata"]
    assert meta["queueName"] == stage(name).queue
    assert meta["mode"] == "QueueLength"
    assert meta["value"] == str(auto["queueLength"])
    assert "host" not in meta and "hostFromEnv" not in meta, "the broker's URL comes from the TriggerAuthentication"
    auths = {d["metadata"]["name"]: d for d in docs if d["kind"] == "TriggerAuthentication"}
    auth = auths[trigger["authenticationRef"]["name"]]
    (ref,) = auth["spec"]["secretTargetRef"]
    assert ref["parameter"] == "host"
    assert ref["name"] in _secret_names(docs) and ref["key"] == VALUES["secret"]["keys"]["amqpUrl"]
    # KEDA owns the replica count: the Deployment must not fight it.
    assert "replicas" not in deployment["spec"]


def test_deployments_not_autoscaled_have_their_replicas(docs):
    for name, d in _of_kind(docs, "Deployment").items():
        if name not in AUTOSCALED:
            assert d["spec"]["replicas"] == VALUES["services"][name]["replicas"], name


def test_keda_off_means_no_keda_objects_and_plain_replicas(keda_off):
    kinds = {d["kind"] for d in keda_off}
    assert "ScaledObject" not in kinds and "TriggerAuthentication" not in kinds
    deployments = _of_kind(keda_off, "Deployment")
    assert sorted(deployments) == sorted(APP_SERVICES)
    for name, d in deployments.items():
        assert d["spec"]["replicas"] == VALUES["services"][name]["replicas"], name


def test_keda_off_still_lints():
    done = helm("lint", "--strict", str(CHART), "--set", "keda.enabled=false")
    assert "0 chart(s) failed" in done.stdout, done.stdout
