"""The launcher's decisions without processes: restart or not, the backoff, what
to run for an environment, what to change; and the supervisor's bookkeeping
on fake processes and a fake clock."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest

from launcher.plan import ProcessSpec, copies_variable, plan, port_variable, reconcile
from launcher.policy import Backoff, decide, describe_exit
from launcher.supervisor import PortInUse, Supervisor
from shared.config import Settings
from shared.pipeline import GATEWAY, SERVICES, STAGES


# -- policy --------------------------------------------------------------------
def test_backoff_doubles_from_one_second_up_to_thirty():
    b = Backoff()
    assert [b.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_process_that_crashes_again_and_again_waits_longer_each_time():
    failures, delays = 0, []
    for _ in range(4):
        d = decide(wanted=True, restart_enabled=True, uptime=2.0, failures=failures)
        assert d.restart
        failures = d.failures
        delays.append(d.delay)
    assert delays == [1, 2, 4, 8]


def test_a_process_that_stayed_up_a_while_starts_the_count_again():
    d = decide(wanted=True, restart_enabled=True, uptime=Backoff().reset_after + 1, failures=5)
    assert d.restart and d.failures == 1 and d.delay == 1


def test_a_process_asked_to_stop_is_not_restarted():
    assert not decide(wanted=False, restart_enabled=True, uptime=1.0, failures=0).restart


def test_with_restarts_off_an_exit_is_final():
    d = decide(wanted=True, restart_enabled=False, uptime=1.0, failures=0)
    assert not d.restart and "off" in d.reason


def test_exits_are_described_by_code_or_signal():
    assert describe_exit(-signal.SIGKILL) == "signal SIGKILL (9)"
    assert describe_exit(2) == "exit code 2"
    assert describe_exit(None) == "running"


# -- plan ------------------------------------------------------------------------
def test_by_default_one_copy_of_each_service_on_its_declared_port():
    specs = plan({})
    assert [s.name for s in specs] == [s.name for s in SERVICES]
    for spec, service in zip(specs, SERVICES):
        assert spec.module == service.module == f"services.{service.name}"
        assert spec.port == service.port
        assert spec.environment[service.port_variable] == str(service.port)


def test_copies_get_their_own_names_and_ports():
    specs = {s.name: s for s in plan({"EMBEDDERS": "3"})}
    assert [specs[n].port for n in ("embedder", "embedder-2", "embedder-3")] == [9102, 9112, 9122]
    assert specs["embedder-3"].environment["HEALTH_PORT"] == "9122"
    assert {s.service for s in specs.values()} == {s.name for s in SERVICES}
    assert "gateway" not in {s.name for s in plan({"GATEWAYS": "0"})}


def test_ports_come_from_per_service_variables():
    env = {port_variable(s): str(20000 + i) for i, s in enumerate(SERVICES)}
    assert port_variable(GATEWAY) == "GATEWAY_PORT"
    assert port_variable(STAGES[0]) == f"{STAGES[0].name.upper()}_HEALTH_PORT"
    assert [s.port for s in plan(env)] == [20000 + i for i in range(len(SERVICES))]


def test_the_gateway_serves_this_machine_only_unless_told_otherwise():
    gateway = {s.name: s for s in plan({})}["gateway"]
    assert gateway.environment["GATEWAY_HOST"] == "127.0.0.1"
    gateway = {s.name: s for s in plan({"GATEWAY_HOST": "0.0.0.0"})}["gateway"]
    assert gateway.environment["GATEWAY_HOST"] == "0.0.0.0" and gateway.url == "http://127.0.0.1:8080"


def test_settings_are_passed_on_and_other_variables_are_not_part_of_the_spec():
    specs = plan({"MATCH_THRESHOLD": "0.5", "HEALTH_PORT": "1", "TERM": "xterm", "MAKELEVEL": "1"})
    matcher = {s.name: s for s in specs}["matcher"]
    assert matcher.environment["MATCH_THRESHOLD"] == "0.5"
    assert matcher.environment["HEALTH_PORT"] == "9103"  # per copy, not the global one
    assert "TERM" not in matcher.environment and "MAKELEVEL" not in matcher.environment


def test_a_setting_given_its_default_value_is_no_change():
    assert plan({"ASSETS_DIR": Settings().assets_dir, "LOG_LEVEL": "INFO", "PREFETCH": "1"}) == plan({})
    assert plan({"PREFETCH": "2"}) != plan({})


@pytest.mark.parametrize("env, message", [
    ({"EMBEDDERS": "two"}, "EMBEDDERS"),
    ({"EMBEDDERS": "-1"}, "EMBEDDERS"),
    ({"DETECTOR_HEALTH_PORT": "9102"}, "port 9102"),
])
def test_a_bad_plan_is_refused_naming_the_variable_or_port(env, message):
    with pytest.raises(ValueError, match=message):
        plan(env)


def test_copies_variables_follow_the_service_names():
    assert [copies_variable(s) for s in SERVICES] == [f"{s.name.upper()}S" for s in SERVICES]


def test_reconcile_changes_only_what_differs():
    current = {s.name: s for s in plan({})}
    assert reconcile(current, plan({})) == ([], [])
    stop, start = reconcile(current, plan({"EMBEDDERS": "2"}))
    assert stop == [] and [s.name for s in start] == ["embedder-2"]
    stop, start = reconcile(current, plan({"MATCHER_HEALTH_PORT": "9200"}))
    assert stop == ["matcher"] and [s.name for s in start] == ["matcher"]
    stop, start = reconcile({s.name: s for s in plan({"EMBEDDERS": "2"})}, plan({}))
    assert stop == ["embedder-2"] and start == []


# -- the supervisor's bookkeeping, on fake processes ------------------------------
class FakeProc:
    pids = iter(range(1000, 2000))

    def __init__(self):
        self.pid, self.returncode, self.signals = next(self.pids), None, []

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            self.returncode = -signal.SIGTERM
        return self.returncode

    def terminate(self):
        self.signals.append(signal.SIGTERM)

    def send_signal(self, sig):
        self.signals.append(sig)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def fake(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("launcher.supervisor._kill_group", lambda pid: None)
    clock, spawned, busy = Clock(), [], set()

    def spawn(spec, env, log_path):
        spawned.append((spec.name, env))
        return FakeProc()

    sup = Supervisor(tmp_path, base_env={"PATH": "/bin"}, spawn=spawn, clock=clock,
                     port_free=lambda port: port not in busy)
    return sup, clock, spawned, busy


def spec(name="embedder", port=9102):
    return ProcessSpec.make(name, STAGES[1], port, {"LOG_LEVEL": "INFO"})


def test_a_killed_process_is_restarted_after_the_backoff(fake):
    sup, clock, spawned, _ = fake
    child = sup.start(spec())
    assert spawned[0] == ("embedder", {"PATH": "/bin", "LOG_LEVEL": "INFO", "HEALTH_PORT": "9102"})
    first = child.proc
    clock.now += 5
    first.returncode = -signal.SIGKILL
    sup.tick()
    assert child.state == "restarting" and child.last_exit == "signal SIGKILL (9)"
    clock.now += 0.5
    sup.tick()
    assert child.proc is first  # not yet: 1 s backoff
    clock.now += 0.6
    sup.tick()
    assert child.proc is not first and child.state == "running" and child.restarts == 1
    child.proc.returncode = 1  # dies again at once: 2 s
    sup.tick()
    clock.now += 1.5
    sup.tick()
    assert child.restarts == 1
    clock.now += 0.6
    sup.tick()
    assert child.restarts == 2


def test_restarts_off_leave_an_exited_process_exited(fake, tmp_path):
    sup, clock, spawned, _ = fake
    sup.restart = False
    child = sup.start(spec())
    child.proc.returncode = 3
    for _ in range(3):
        clock.now += 60
        sup.tick()
    assert len(spawned) == 1 and child.state == "exited" and child.last_exit == "exit code 3"


def test_a_busy_port_refuses_a_start_and_delays_a_restart(fake):
    sup, clock, spawned, busy = fake
    busy.add(9102)
    with pytest.raises(PortInUse, match="port 9102.*EMBEDDER_HEALTH_PORT"):
        sup.start(spec())
    busy.clear()
    child = sup.start(spec())
    child.proc.returncode = -signal.SIGKILL
    busy.add(9102)  # e.g. an orphan still holds it
    sup.tick()
    clock.now += 1
    sup.tick()
    assert child.state == "restarting" and child.restarts == 0
    busy.clear()
    clock.now += 2
    sup.tick()
    assert child.state == "running" and child.restarts == 1


def test_stop_terminates_waits_and_forgets(fake):
    sup, clock, spawned, _ = fake
    child = sup.start(spec())
    sup.stop("embedder")
    assert signal.SIGTERM in child.proc.signals and child.proc.returncode == -signal.SIGTERM
    assert "embedder" not in sup.children and child.state == "stopped"
    sup.tick()
    assert len(spawned) == 1  # a stopped process is not restarted
