"""Deployment artifacts: Prometheus rules (promtool), the Grafana dashboard, compose, kustomize.

The tools are real and required: promtool (Debian's ``prometheus`` package) and
``kubectl kustomize`` or ``kustomize``; ``.ci/run`` installs them. A missing tool fails
these tests rather than skipping them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from logsentry.stream.metrics import StreamMetrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def tool(name: str) -> str:
    path = shutil.which(name) or str(ROOT / ".cache" / "bin" / name)
    if not Path(path).is_file():
        pytest.fail(f"{name} is required for this test: run `make tools` (CI installs it)")
    return path


# -- Prometheus ---------------------------------------------------------------------------
# the rule unit tests: minute-scale rules, and rules that look back days (evaluated hourly)
RULE_TESTS = sorted((DEPLOY / "prometheus/tests").glob("*.test.yml"))


def test_alerting_rules_are_valid_and_unit_tested() -> None:
    promtool = tool("promtool")
    check = subprocess.run(
        [promtool, "check", "rules", str(DEPLOY / "prometheus/rules/logsentry.rules.yml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    done = subprocess.run(
        [promtool, "test", "rules", *(p.name for p in RULE_TESTS)],
        cwd=DEPLOY / "prometheus/tests",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(RULE_TESTS) == 2, done.stdout


def test_every_rule_is_tested_firing_and_not_firing() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus/rules/logsentry.rules.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tests = [case for path in RULE_TESTS for case in yaml.safe_load(path.read_text())["tests"]]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert names == firing == quiet


def test_prometheus_config_loads_the_rules_and_scrapes_every_detector() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert jobs["logsentry"]["dns_sd_configs"][0]["names"] == ["detector"]
    assert "kafka" in jobs


# -- Grafana ------------------------------------------------------------------------------
def _metric_names() -> set[str]:
    """Every series name the detector exposes, derived from each family's type."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "info": ("_info",), "gauge": ("",)}
    names = set()
    for family in StreamMetrics(CollectorRegistry()).registry.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return names


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def test_dashboard_follows_the_linter_rules_and_queries_real_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/logsentry.json").read_text())
    assert dashboard["uid"] == "logsentry-overview"
    assert "id" not in dashboard
    assert dashboard["editable"] is False
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert {"job", "instance"} <= set(variables)
    known = _metric_names()
    for panel in _panels(dashboard):
        where = f"panel {panel['title']!r}"
        assert panel["title"] and panel.get("description"), where
        assert panel["datasource"]["uid"] == "${datasource}", where
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{where} has no unit"
        assert panel["targets"], where
        for target in panel["targets"]:
            expr = target["expr"]
            assert target["datasource"]["uid"] == "${datasource}", where
            for window in re.findall(r"\[([^\]]+)\]", expr):
                assert window == "$__rate_interval", f"{where}: use $__rate_interval, not [{window}]"
            for selector in re.findall(r"\{([^}]*)\}", expr.replace("{{", "").replace("}}", "")):
                assert 'job=~"$job"' in selector and 'instance=~"$instance"' in selector, f"{where}: {expr}"
            for name in re.findall(r"\b(logsentry_[a-z_]+)", expr):
                assert name in known, f"{where} queries {name}, which the detector does not export"
                if name.endswith("_total"):
                    assert re.search(rf"(rate|increase)\({name}", expr), f"{where}: counter {name} needs rate()"


def test_dashboard_covers_what_operators_need() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/logsentry.json").read_text())
    exprs = " ".join(t["expr"] for p in _panels(dashboard) for t in p["targets"])
    for metric in (
        "events_consumed_total",
        "events_flagged_total",
        "dead_letters_total",
        "batch_size_events",
        "inference_duration_seconds",
        "alert_latency_seconds",
        "consumer_lag_messages",
        "score_bucket",
        "model_info",
        "model_reloads_total",
    ):
        assert f"logsentry_{metric}" in exprs
    assert any(p["type"] == "heatmap" for p in _panels(dashboard))


def test_grafana_provisioning_points_at_the_dashboard() -> None:
    source = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["type"] == "prometheus"
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/logsentry.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


# -- compose ------------------------------------------------------------------------------
def test_compose_file_is_consistent() -> None:
    """What `docker compose config` would catch, checked without a Docker engine."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "topics", "trainer", "detector", "replayer", "prometheus", "grafana", "kafka-exporter"} <= set(
        services
    )
    declared_volumes = set(compose.get("volumes", {}))
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        depends = service.get("depends_on", {})
        for dependency in depends if isinstance(depends, list) else depends.keys():
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "ports" not in services["detector"], "a fixed host port would stop --scale detector=N"
    assert services["replayer"]["profiles"] == ["replay"]
    assert services["trainer"]["build"]["dockerfile"] == "deploy/Dockerfile"


def _stages(text: str) -> dict[str, str]:
    parts = re.split(r"^FROM \S+ AS (\S+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = _stages(text)
    assert list(stages)[-1] == "detector", "the default target is the detector"
    for name in ("detector", "trainer"):
        assert re.search(r"^USER 10001", stages[name], re.M), name
        assert 'ENTRYPOINT ["logsentry"]' in stages[name]


def test_the_detector_image_is_the_base_install_and_the_trainer_adds_the_extra() -> None:
    stages = _stages((DEPLOY / "Dockerfile").read_text())
    assert "--from=serving-wheels" in stages["detector"] and "--from=training-wheels" in stages["trainer"]
    assert re.search(r"pip wheel .* \.$", stages["serving-wheels"], re.M), "no extra in the detector's wheels"
    assert '".[train]"' in stages["training-wheels"]
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    assert compose["detector"]["build"]["target"] == "detector" and compose["trainer"]["build"]["target"] == "trainer"


# -- Kubernetes ---------------------------------------------------------------------------
def _render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    command = [kubectl, "kustomize", str(path)] if kubectl else [tool("kustomize"), "build", str(path)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def test_kustomize_tree_renders_with_probes_limits_secrets_pdb_and_autoscaling() -> None:
    docs = _render(DEPLOY / "k8s")
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for expected in [
        ("Deployment", "logsentry-detector"),
        ("ConfigMap", "logsentry-config"),
        ("Secret", "logsentry-kafka"),
        ("PodDisruptionBudget", "logsentry-detector"),
        ("ScaledObject", "logsentry-detector"),
        ("Job", "logsentry-train"),
        ("PersistentVolumeClaim", "logsentry-models"),
    ]:
        assert expected in kinds
    assert all(d["metadata"].get("namespace", "logsentry") == "logsentry" for d in docs)
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"  # the loop, not the brokers
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert {e.get("configMapRef", e.get("secretRef"))["name"] for e in container["envFrom"]} == {
        "logsentry-config",
        "logsentry-kafka",
    }
    assert container["image"].startswith("ghcr.io/logsentry/logsentry:")
    (job,) = [d for d in docs if d["kind"] == "Job"]
    (trainer,) = job["spec"]["template"]["spec"]["containers"]
    assert trainer["image"].startswith("ghcr.io/logsentry/logsentry-trainer:"), "training needs the train extra"
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    (scaled,) = [d for d in docs if d["kind"] == "ScaledObject"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == "logsentry"
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert config["LOGSENTRY_SECURITY_PROTOCOL"] == "SASL_SSL" and "LOGSENTRY_SASL_PASSWORD" not in config
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "logsentry-kafka")
    assert secret["stringData"]["LOGSENTRY_SASL_PASSWORD"] == "REPLACE-ME", "no real credential in git"


def test_hpa_component_is_a_working_alternative(tmp_path: Path) -> None:
    """The documented switch: drop scaledobject.yaml from resources, add the hpa component."""
    tree = tmp_path / "k8s"
    shutil.copytree(DEPLOY / "k8s", tree)
    config = yaml.safe_load((tree / "kustomization.yaml").read_text())
    config["resources"].remove("scaledobject.yaml")
    config["components"] = ["hpa"]
    (tree / "kustomization.yaml").write_text(yaml.safe_dump(config))
    docs = _render(tree)
    kinds = {d["kind"] for d in docs}
    assert "HorizontalPodAutoscaler" in kinds and "ScaledObject" not in kinds
