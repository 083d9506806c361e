"""One process layout everywhere: the Procfile, render.yaml, deploy/systemd/ and the README's crontab agree.

Each check reads the files of a checkout (`layout_problems(root)`), so the drift tests below can change one
file in a copy and show that the check names what drifted. The environment checks hold the README's
configuration table, .env.example and the variables the code reads to one list.
"""

import ast
import hashlib
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from tests.test_settings import manage

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = "/srv/joycart/.venv/bin/"
UNITS = Path("deploy/systemd")
ENVIRONMENT_FILE = "/etc/joycart/joycart.env"
# What a production process cannot do without: start-up stops, or it runs on the wrong database,
# cache, mail server or media store. Render must provide each to every process, .env.example name each.
PRODUCTION_REQUIRED = {
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "RAZORPAY_KEY_ID",
    "RAZORPAY_KEY_SECRET",
    "RAZORPAY_WEBHOOK_SECRET",
    "CLOUDINARY_URL",
}
# Read by gunicorn.conf.py or about the web process's proxy: the worker and cron jobs need none of them.
WEB_ONLY = {"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "DJANGO_NUM_PROXIES"}


# --- reading the files -------------------------------------------------------------------------------------


def procfile(root: Path) -> dict[str, str]:
    lines = [line for line in (root / "Procfile").read_text().splitlines() if line.strip() and line[0] != "#"]
    return {name.strip(): command.strip() for name, command in (line.split(":", 1) for line in lines)}


def readme_crontab(root: Path) -> dict[str, str]:
    """The README's ```cron block: {manage.py command with its arguments: schedule}."""
    block = re.search(r"```cron\n(.*?)```", (root / "README.md").read_text(), re.DOTALL)
    assert block, "README.md has no ```cron block"
    jobs = {}
    for line in block.group(1).splitlines():
        if line.strip():
            fields = line.split()
            jobs[line.split("manage.py ", 1)[1].strip()] = " ".join(fields[:5])
    return jobs


def render_blueprint(root: Path) -> dict:
    return yaml.safe_load((root / "render.yaml").read_text())


def unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: {section: {key: [values, in order]}}; keys may repeat."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def setting(parsed: dict, section: str, key: str) -> str | None:
    values = parsed.get(section, {}).get(key)
    return values[-1] if values else None


def manage_command(command: str) -> str:
    """`python manage.py replay_webhooks --pending-minutes 5` -> `replay_webhooks --pending-minutes 5`."""
    return command.split("manage.py ", 1)[1].strip() if "manage.py " in command else ""


def cron_to_oncalendar(schedule: str) -> str:
    """The crontab schedules JoyCart uses (minute and hour fields: `*`, `*/n` or a number) as OnCalendar."""
    minute, hour, day, month, weekday = schedule.split()
    assert (day, month, weekday) == ("*", "*", "*"), f"convert {schedule!r} by hand"

    def field(value: str) -> str:
        if value == "*":
            return "*"
        if value.startswith("*/"):
            return f"00/{int(value[2:])}"
        return f"{int(value):02d}"

    return f"*-*-* {field(hour)}:{field(minute)}:00"


# --- the checks --------------------------------------------------------------------------------------------


def layout_problems(root: Path) -> list[str]:
    """Every disagreement between the Procfile, render.yaml, the systemd units and the README's crontab."""
    problems = []
    proc = procfile(root)
    cron = readme_crontab(root)
    if set(proc) != {"release", "web", "worker"}:
        problems.append(f"Procfile declares {sorted(proc)}, not release, web and worker")
    if proc.get("release") != "python manage.py migrate --noinput":
        problems.append(f"Procfile release is {proc.get('release')!r}")
    if "-c gunicorn.conf.py" not in proc.get("web", "") or not proc.get("web", "").startswith("gunicorn "):
        problems.append(f"Procfile web does not run gunicorn with gunicorn.conf.py: {proc.get('web')!r}")

    # Render: the same commands, and one cron job per crontab line with the same schedule.
    blueprint = render_blueprint(root)
    services = {service["name"]: service for service in blueprint["services"]}
    by_type = {kind: [s for s in blueprint["services"] if s["type"] == kind] for kind in ("web", "worker", "cron")}
    if len(by_type["web"]) != 1 or len(by_type["worker"]) != 1:
        problems.append("render.yaml needs exactly one web service and one worker")
    else:
        web, worker = by_type["web"][0], by_type["worker"][0]
        for field, expected in (("startCommand", proc.get("web")), ("preDeployCommand", proc.get("release"))):
            if web.get(field) != expected:
                problems.append(f"render.yaml web {field} {web.get(field)!r} is not the Procfile's {expected!r}")
        if "collectstatic --noinput" not in web.get("buildCommand", ""):
            problems.append("render.yaml web buildCommand does not collect the static files")
        if web.get("healthCheckPath") != "/healthz":
            problems.append(f"render.yaml web healthCheckPath is {web.get('healthCheckPath')!r}")
        if worker.get("startCommand") != proc.get("worker"):
            problems.append(f"render.yaml worker {worker.get('startCommand')!r} is not the Procfile's")
    render_cron = {manage_command(job["startCommand"]): job["schedule"] for job in by_type["cron"]}
    for command in sorted(set(cron) | set(render_cron)):
        if cron.get(command) != render_cron.get(command):
            problems.append(
                f"{command}: README crontab {cron.get(command)!r}, render.yaml cron {render_cron.get(command)!r}"
            )
    regions = {service.get("region") for service in blueprint["services"]} | {
        database.get("region") for database in blueprint.get("databases", [])
    }
    if len(regions) != 1:
        problems.append(f"render.yaml spreads over regions {sorted(map(str, regions))}: no private network")
    references = [
        (variable.get("fromService") or {}).get("name")
        for service in blueprint["services"]
        for variable in service.get("envVars", [])
        if "fromService" in variable
    ]
    problems += [
        f"render.yaml refers to a service {name!r} it does not define" for name in references if name not in services
    ]

    # systemd: the same commands from the venv, one timer and oneshot service per crontab line.
    units_dir = root / UNITS
    units = {path.name: unit(path) for path in sorted(units_dir.glob("joycart-*"))}
    main = {"joycart-web.service": "web", "joycart-worker.service": "worker", "joycart-release.service": "release"}
    for name, process in main.items():
        if name not in units:
            problems.append(f"{UNITS}/{name} is missing")
            continue
        exec_start = setting(units[name], "Service", "ExecStart") or ""
        if exec_start.removeprefix(VENV_BIN) != proc.get(process):
            problems.append(f"{name} runs {exec_start!r}, not the Procfile's {process} {proc.get(process)!r}")
    for name in ("joycart-web.service", "joycart-worker.service"):
        parsed = units.get(name, {})
        needs = " ".join(parsed.get("Unit", {}).get("Requires", []))
        after = " ".join(parsed.get("Unit", {}).get("After", []))
        if "joycart-release.service" not in needs or "joycart-release.service" not in after:
            problems.append(f"{name} does not start after joycart-release.service (migrate)")
    if setting(units.get("joycart-worker.service", {}), "Service", "CPUWeight") != "10":
        problems.append("joycart-worker.service is not at background CPU priority (CPUWeight=10)")
    timers = {}
    for name, parsed in units.items():
        if name.endswith(".timer"):
            service_name = setting(parsed, "Timer", "Unit") or name.removesuffix(".timer") + ".service"
            service = units.get(service_name)
            if service is None:
                problems.append(f"{name} starts {service_name}, which is missing")
                continue
            if setting(service, "Service", "Type") != "oneshot":
                problems.append(f"{service_name} is not Type=oneshot")
            command = manage_command(setting(service, "Service", "ExecStart") or "")
            timers[command] = setting(parsed, "Timer", "OnCalendar")
    for command in sorted(set(cron) | set(timers)):
        expected = cron_to_oncalendar(cron[command]) if command in cron else None
        if timers.get(command) != expected:
            problems.append(f"{command}: README crontab is OnCalendar {expected!r}, its timer {timers.get(command)!r}")
    for name, parsed in units.items():
        if name.endswith(".service"):
            for key, expected in (
                ("User", "joycart"),
                ("WorkingDirectory", "/srv/joycart"),
                ("EnvironmentFile", ENVIRONMENT_FILE),
            ):
                if setting(parsed, "Service", key) != expected:
                    problems.append(f"{name}: {key} is {setting(parsed, 'Service', key)!r}, not {expected!r}")
            if not (setting(parsed, "Service", "ExecStart") or "").startswith(VENV_BIN):
                problems.append(f"{name} does not run from {VENV_BIN}")
    return problems


def copy_layout(tmp_path: Path) -> Path:
    for name in ("Procfile", "render.yaml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / UNITS, tmp_path / UNITS)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


# --- the tests ---------------------------------------------------------------------------------------------


def test_procfile_render_systemd_and_the_readme_crontab_declare_the_same_processes():
    assert layout_problems(ROOT) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "named"),
    [
        ("render.yaml", 'schedule: "*/5 * * * *"', 'schedule: "*/10 * * * *"', "replay_webhooks"),
        ("deploy/systemd/joycart-prune-db-task-results.timer", "03:30:00", "04:30:00", "prune_db_task_results"),
        ("README.md", "*/5 * * * *  cd", "*/15 * * * *  cd", "replay_webhooks"),
        ("render.yaml", "--min-age-days 14", "--min-age-days 30", "prune_db_task_results"),
        ("Procfile", "python manage.py db_worker", "python manage.py db_worker --batch", "worker"),
        ("deploy/systemd/joycart-web.service", "-c gunicorn.conf.py", "--workers 9", "joycart-web.service"),
        ("render.yaml", "preDeployCommand: python manage.py migrate --noinput", "preDeployCommand: true", "preDeploy"),
        ("deploy/systemd/joycart-worker.service", "CPUWeight=10", "CPUWeight=100", "CPUWeight"),
    ],
)
def test_a_change_made_in_one_place_only_is_named(tmp_path, file, old, new, named):
    root = copy_layout(tmp_path)
    edit(root / file, old, new)
    problems = layout_problems(root)
    assert problems and any(named in problem for problem in problems), problems


def test_a_periodic_job_added_to_the_readme_alone_is_missing_everywhere_else(tmp_path):
    root = copy_layout(tmp_path)
    last = ".venv/bin/python manage.py prune_db_task_results --min-age-days 14\n"
    edit(
        root / "README.md", last, last + "  15 * * * *  cd /srv/joycart && .venv/bin/python manage.py payments_audit\n"
    )
    problems = [problem for problem in layout_problems(root) if "payments_audit" in problem]
    assert len(problems) == 2, problems  # render.yaml and the systemd timer


def test_a_timer_whose_service_is_missing_is_named(tmp_path):
    root = copy_layout(tmp_path)
    (root / UNITS / "joycart-reconcile-payments.service").unlink()
    assert any("joycart-reconcile-payments.service, which is missing" in p for p in layout_problems(root))


def every_manage_command(root: Path) -> set[str]:
    commands = {manage_command(command) for command in procfile(root).values()}
    commands |= set(readme_crontab(root))
    for service in render_blueprint(root)["services"]:
        commands |= {manage_command(service.get(field, "")) for field in ("startCommand", "preDeployCommand")}
    commands |= {manage_command(setting(unit(p), "Service", "ExecStart") or "") for p in (root / UNITS).glob("*")}
    return {command.split()[0] for command in commands if command}


def test_every_manage_py_command_the_deployment_runs_exists():
    commands = every_manage_command(ROOT)
    assert {"migrate", "db_worker", "expire_unpaid_orders", "prune_db_task_results"} <= commands
    assert commands - set(get_commands()) == set()


def render_environment(service: dict, blueprint: dict, web_env: dict[str, str] | None = None) -> dict[str, str]:
    """What Render would put in a service's environment, with stand-ins for what the operator types in."""
    groups = {group["name"]: group["envVars"] for group in blueprint.get("envVarGroups", [])}
    env = {}
    for variable in service.get("envVars", []):
        owner = variable.get("fromGroup") or service["name"]
        for member in groups[variable["fromGroup"]] if "fromGroup" in variable else [variable]:
            key = member["key"]
            if "value" in member:
                env[key] = str(member["value"])
            elif member.get("generateValue"):
                # One value per group (shared by its services), one per service otherwise: as Render does.
                env[key] = hashlib.sha256(f"{owner}:{key}".encode()).hexdigest()
            elif member.get("sync") is False:
                env[key] = OPERATOR_VALUES[key]
            elif "fromDatabase" in member:
                env[key] = "postgresql://joycart:secret@dpg-joycart-a/joycart"
            elif member.get("fromService", {}).get("type") == "keyvalue":
                env[key] = "redis://red-joycart:6379"
            elif "envVarKey" in member.get("fromService", {}):
                assert web_env is not None, f"{key} refers to another service's variable"
                env[key] = web_env[member["fromService"]["envVarKey"]]
            else:
                raise AssertionError(f"render.yaml: {key} has no value, generator, prompt or reference")
    return env


# What an operator types in when Render asks (sync: false): realistic, never real.
OPERATOR_VALUES = {
    "DJANGO_ALLOWED_HOSTS": "shop.example.com,joycart-web.onrender.com",
    "RAZORPAY_KEY_ID": "rzp_live_deploytest",
    "RAZORPAY_KEY_SECRET": "deploy-test-key-secret",
    "RAZORPAY_WEBHOOK_SECRET": "deploy-test-webhook-secret",
    "CLOUDINARY_URL": "cloudinary://123456789012345:deploy-test-secret@joycart-test",
    "EMAIL_URL": "submission://shop:deploy-test@smtp.example.com:587",
    "DJANGO_DEFAULT_FROM_EMAIL": "JoyCart <shop@example.com>",
    "DJANGO_ADMINS": "Ops <ops@example.com>",
    "SENTRY_DSN": "",
}


def test_every_render_process_gets_what_production_requires_and_secrets_are_typed_in_once():
    blueprint = render_blueprint(ROOT)
    services = [s for s in blueprint["services"] if s["type"] in ("web", "worker", "cron")]
    web = next(s for s in services if s["type"] == "web")
    web_env = render_environment(web, blueprint)
    prompted = {v["key"] for v in web["envVars"] if v.get("sync") is False}
    assert {
        "RAZORPAY_KEY_ID",
        "RAZORPAY_KEY_SECRET",
        "RAZORPAY_WEBHOOK_SECRET",
        "CLOUDINARY_URL",
        "EMAIL_URL",
    } <= prompted
    assert web_env["DJANGO_DEBUG"] == "0"
    for service in services:
        env = render_environment(service, blueprint, web_env)
        assert set(env) >= PRODUCTION_REQUIRED, f"{service['name']} lacks {PRODUCTION_REQUIRED - set(env)}"
        # One secret key and one value of each secret for all processes: the worker signs what the web checks.
        assert {key: env[key] for key in set(env) - WEB_ONLY} == {key: web_env[key] for key in set(web_env) - WEB_ONLY}
        assert not any(v.get("sync") is False for v in service["envVars"]) or service is web


def test_render_environment_starts_production_settings_cleanly(tmp_path):
    """The web's and the worker's Render environment pass `check --deploy` (no network: nothing connects)."""
    blueprint = render_blueprint(ROOT)
    web = next(s for s in blueprint["services"] if s["type"] == "web")
    worker = next(s for s in blueprint["services"] if s["type"] == "worker")
    web_env = render_environment(web, blueprint)
    for env in (web_env, render_environment(worker, blueprint, web_env)):
        result = manage("check", "--deploy", "--fail-level", "WARNING", **env, DJANGO_STATIC_ROOT=str(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_every_unit_file():
    """Only the missing /srv/joycart/.venv may be reported: no unknown key, no bad calendar spec."""
    units = sorted(str(path) for path in (ROOT / UNITS).glob("joycart-*"))
    result = subprocess.run(  # noqa: S603 - systemd's own checker on our files
        ["systemd-analyze", "verify", *units],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if line and "is not executable" not in line
    ]
    assert complaints == []


# --- the environment: the README's table, .env.example and the code -----------------------------------------

ENV_READERS = {"get", "getenv", "env_bool", "env_list", "env_required", "_env_int"}


def variables_read(path: Path) -> set[str]:
    """Environment variables a module reads by name. A name computed at run time fails: the docs checks
    below could not see it."""
    tree = ast.parse(path.read_text())
    helper_params = {
        arg.arg
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in ENV_READERS
        for arg in node.args.args
    }
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        reads_environ = isinstance(func, ast.Attribute) and ast.unparse(func.value) in ("os.environ", "os")
        if called in ("get", "getenv") and not reads_environ:
            continue
        if called in ENV_READERS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
            else:
                assert isinstance(first, ast.Name) and first.id in helper_params, (
                    f"{path.name}:{node.lineno} reads an environment variable by a computed name"
                )
        names |= {kw.value.value for kw in node.keywords if kw.arg == "env" and isinstance(kw.value, ast.Constant)}
    return names


def project_sources() -> list[Path]:
    skip = {".venv", "tests", "bench", "migrations", "node_modules"}
    return [path for path in ROOT.rglob("*.py") if not skip & set(path.relative_to(ROOT).parts)]


def readme_configuration_table() -> set[str]:
    section = (ROOT / "README.md").read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, re.MULTILINE))


def env_example() -> dict[str, str]:
    """`#NAME=value` lines (prose comments have a space after the #), quotes stripped as systemd does."""
    pairs = re.findall(r"^#([A-Z][A-Z0-9_]*)=(.*)$", (ROOT / ".env.example").read_text(), re.MULTILINE)
    return {name: value.strip().strip('"') for name, value in pairs}


def test_the_readme_table_and_env_example_list_exactly_the_variables_the_code_reads():
    read = set().union(*(variables_read(path) for path in project_sources()))
    assert {"DJANGO_SECRET_KEY", "RAZORPAY_WEBHOOK_SECRET", "DATABASE_URL", "WEB_CONCURRENCY", "SENTRY_DSN"} <= read
    read.discard("DJANGO_SETTINGS_MODULE")
    example = env_example()
    assert len(re.findall(r"^#([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE)) == len(example)
    assert read - readme_configuration_table() == set(), "read by the code, missing from the README's table"
    assert readme_configuration_table() - read == set(), "in the README's table, read by nothing"
    assert set(example) == readme_configuration_table()
    assert set(example) >= PRODUCTION_REQUIRED


def test_a_variable_read_by_a_computed_name_is_refused(tmp_path):
    module = tmp_path / "settings.py"
    module.write_text('import os\nfor name in ("A", "B"):\n    os.environ.get(name)\n')
    with pytest.raises(AssertionError, match="computed name"):
        variables_read(module)


def test_env_example_with_its_secrets_filled_in_starts_production_settings_cleanly(tmp_path):
    env = {name: value for name, value in env_example().items() if value}
    for name in PRODUCTION_REQUIRED - set(env):
        env[name] = OPERATOR_VALUES.get(name) or secrets.token_urlsafe(50)
    assert env["DJANGO_DEBUG"] == "0"
    env["DJANGO_STATIC_ROOT"] = str(tmp_path)  # a checkout has no /srv/joycart
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr
