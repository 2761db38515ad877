"""The project's set-up files stay consistent: compose file, Dockerfile, README commands, CI."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import yaml

from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_is_valid_and_configures_sohoa(tmp_path, monkeypatch):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"minio", "prefect", "sohoa"} <= set(services)
    declared = set(compose["secrets"])
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert set(service.get("secrets", [])) <= declared, name
    env = services["sohoa"]["environment"]
    assert not any("PASSWORD" in k.upper() and not k.endswith("_FILE") for k in env)
    for key_file in ("minio_user", "minio_password", "catalog_password", "signing_password"):
        (tmp_path / key_file).write_text("x" * 20)
    for key, value in env.items():
        if key.startswith("SOHOA_"):
            monkeypatch.setenv(key, str(value).replace("/run/secrets", str(tmp_path)))
    settings = Settings()  # raises if the compose file names a setting that does not exist
    assert settings.store.backend == "s3" and settings.store.endpoint == "minio:9000"
    assert settings.store.secret_key_file is not None
    # the catalog on the compose PostgreSQL, its password from the secret file only
    assert env["SOHOA_CATALOG_URL"] == "postgresql://sohoa@postgres:5432/sohoa"
    assert settings.resolved_catalog_url == f"postgresql://sohoa:{'x' * 20}@postgres:5432/sohoa"
    init = (ROOT / "deploy" / "postgres-init" / "10-sohoa-catalog.sh").read_text()
    assert "/run/secrets/catalog_password" in init and "CREATE DATABASE sohoa" in init
    assert "catalog_password" in services["postgres"]["secrets"]
    # the office's key from secrets; never the demo certificate by default
    assert settings.signing.pkcs12_path == tmp_path / "signing_p12"
    assert settings.signing.allow_demo is False
    for name in ("worker", "web", "sohoa"):
        assert {"signing_p12", "signing_password"} <= set(services[name]["secrets"]), name


def test_compose_runs_every_service_with_health_checks_and_no_inline_passwords():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"minio", "postgres", "prefect", "worker"} <= set(services)
    for name, service in services.items():
        one_shot = "cli" in service.get("profiles", []) or service.get("restart") == "no"
        if not one_shot:
            assert "healthcheck" in service, name
            assert service.get("restart") == "unless-stopped", name  # back after a reboot
            probe = " ".join(service["healthcheck"]["test"])
            others = [other for other in services if other != name]
            assert not any(f"//{other}:" in probe for other in others), (name, probe)
        env = service.get("environment", {})
        assert not any("PASSWORD" in k and not k.endswith("_FILE") for k in env), name
    assert "--console-address" in services["minio"]["command"]
    assert services["worker"]["entrypoint"][:3] == ["prefect", "worker", "start"]
    assert services["web"]["command"][0] == "serve" and "--host" in services["web"]["command"]
    # uploads are flow runs on the workers, not OCR'd inside the web container
    assert services["web"]["environment"]["SOHOA_WEB__DISPATCH"] == "deployment"
    assert services["worker"]["entrypoint"][4] == "sohoa-process"  # the pool prefect.yaml uses
    assert "--with-healthcheck" in services["worker"]["entrypoint"]
    limits = services["worker"]["deploy"]["resources"]["limits"]
    assert services["worker"]["deploy"]["replicas"] >= 2 and limits["cpus"] and limits["memory"]
    assert services["worker"]["environment"]["SOHOA_OCR__WORKERS"] == limits["cpus"]
    one_shot = services["deployments"]
    assert "prefect --no-prompt deploy --all" in " ".join(one_shot["command"])
    assert services["worker"]["depends_on"]["deployments"] == {
        "condition": "service_completed_successfully"
    }
    # Docker's default 10 s before SIGKILL would cut most running batches short: the
    # worker's first SIGTERM is Prefect's graceful stop, it needs minutes to finish a batch
    grace = services["worker"]["stop_grace_period"]
    assert grace.endswith("m") and int(grace[:-1]) >= 5, grace


def test_compose_prefect_database_settings_exist_in_prefect(monkeypatch):
    """A misspelt PREFECT_SERVER_DATABASE_* variable would silently leave Prefect on SQLite."""
    from prefect.settings import Settings as PrefectSettings

    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["prefect"][
        "environment"
    ]
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_PASSWORD", "from-the-secret-file")
    database = PrefectSettings().server.database
    assert database.driver == "postgresql+asyncpg"
    assert (database.host, database.user, database.name) == ("postgres", "prefect", "prefect")


def test_dockerfile_copies_only_what_exists():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


def test_readme_commands_are_real():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    targets = re.findall(r"^(\w+):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    assert {"demo", "test"} <= set(targets)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _wheel_packages() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"])


def test_the_wheel_and_the_image_ship_every_top_level_package():
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert _wheel_packages() == on_disk
    copied = {
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    assert on_disk <= copied, on_disk - copied


def _top_level_names(dist: importlib.metadata.Distribution) -> set[str]:
    """What a distribution puts at the top of site-packages (its top_level.txt, or its files)."""
    listed = dist.read_text("top_level.txt")
    if listed:
        return set(listed.split())
    return {
        Path(str(f)).parts[0].removesuffix(".py")
        for f in dist.files or ()
        if not str(f).startswith("..")
        and not Path(str(f)).parts[0].endswith((".dist-info", ".data"))
    }


def test_no_installed_distribution_ships_a_package_named_like_ours():
    ours = _wheel_packages()
    clashes = {
        dist.metadata["Name"]: sorted(_top_level_names(dist) & ours)
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"] != "sohoa" and _top_level_names(dist) & ours
    }
    assert clashes == {}


_COUNT_COMPILED = """
import importlib._bootstrap_external as external, json, sys
compiled = []
source_to_code = external.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return source_to_code(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = counting
import cli.app, flows.batch, flows.digitise, pdf.sign.signer, web.app
print(json.dumps(compiled))
"""


def test_commands_start_from_compiled_bytecode():
    """The set-up compiles the environment and sohoa's packages (scripts/bootstrap.sh,
    Dockerfile): a process that may not write bytecode (PYTHONDONTWRITEBYTECODE, as here
    and in a read-only image) compiles nothing when it starts. Without it every command
    compiled ~750 modules again, 1-2 s of each one's start-up (bench/README.md)."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_COMPILED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    compiled = json.loads(done.stdout.strip().splitlines()[-1])
    assert compiled == [], (
        f"{len(compiled)} modules compiled at start-up (run scripts/bootstrap.sh after "
        f"editing sources), e.g. {compiled[:5]}"
    )
