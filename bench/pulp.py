"""Real Pulp 3 (pulpcore, pulp-container, pulp-python from PyPI) as the benchmark's peer.

Installed once into a virtualenv under $DEPOT_BENCH_HOME (default /var/tmp/depot-bench), on the
machine's PostgreSQL (127.0.0.1:5432, user postgres, trust auth). The schema is migrated once
into a template database; every run gets a fresh copy of it (CREATE DATABASE ... TEMPLATE), so
each comparison starts from an empty Pulp without paying the migration again.

Services, as Pulp deploys them: pulpcore-api (gunicorn, 2 workers) on 127.0.0.1:24817,
pulpcore-content (2 workers) on 127.0.0.1:24816, two pulpcore-worker processes, and an nginx
reverse proxy in front of the API for the registry (skopeo probes TLS first; gunicorn never
answers a TLS hello, so without a front end every skopeo call against Pulp waits 10 s).
"""

import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from servers import Nginx, PulpApiClient, psql, stop_process, wait_until_up

VERSIONS = {"pulpcore": "3.123.1", "pulp-container": "2.30.0", "pulp-python": "3.36.4"}
HOME = Path(os.environ.get("DEPOT_BENCH_HOME", "/var/tmp/depot-bench")) / "pulp"
VENV = HOME / "venv"
TEMPLATE_DB = "depot_bench_pulp_template"
API_PORT, CONTENT_PORT = 24817, 24816
PASSWORD = "password"


def _run(cmd, log, env=None):
    with open(log, "ab") as out:
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed; see {log}")


def install():
    """The virtualenv with Pulp's pinned versions (skipped when it already has them)."""
    marker = VENV / ("installed-" + "-".join(f"{k}{v}" for k, v in VERSIONS.items()))
    if marker.exists():
        return
    HOME.mkdir(parents=True, exist_ok=True)
    log = HOME / "install.log"
    print(f"installing Pulp {VERSIONS['pulpcore']} from PyPI into {VENV} (log: {log})", flush=True)
    _run(["python3", "-m", "venv", str(VENV)], log)
    _run([str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
          *(f"{k}=={v}" for k, v in VERSIONS.items())], log)
    marker.touch()


def _database_exists(name):
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip() == "1"


def _write_settings(path, database, media, origin):
    key = HOME / "database_fields.symmetric.key"
    if not key.exists():
        key.write_bytes(base64.urlsafe_b64encode(os.urandom(32)))
    path.write_text(f"""\
SECRET_KEY = {uuid.uuid4().hex * 2!r}
CONTENT_ORIGIN = {origin!r}
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": {database!r},
    "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}}}}
MEDIA_ROOT = {str(media)!r}
STATIC_ROOT = {str(media / "assets")!r}
WORKING_DIRECTORY = {str(media / "tmp")!r}
FILE_UPLOAD_TEMP_DIR = {str(media / "tmp")!r}
DB_ENCRYPTION_KEY = {str(key)!r}
ALLOWED_HOSTS = ["*"]
ANALYTICS = False           # no telemetry posts to the internet
TOKEN_AUTH_DISABLED = True  # registry with Basic auth, no token server
PYPI_API_HOSTNAME = "http://127.0.0.1:{API_PORT}"
CACHE_ENABLED = False
""")


def _manager(settings, log, *args):
    env = dict(os.environ, PULP_SETTINGS=str(settings))
    _run([str(VENV / "bin" / "pulpcore-manager"), *args], log, env=env)


def prepare_template():
    """Migrate Pulp's schema into the template database once per installed version."""
    marker = VENV / "template-migrated"
    if marker.exists() and _database_exists(TEMPLATE_DB):
        return
    log = HOME / "migrate.log"
    print(f"migrating Pulp's schema into {TEMPLATE_DB} (log: {log})", flush=True)
    psql(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
    psql(f'CREATE DATABASE "{TEMPLATE_DB}"')
    psql("CREATE EXTENSION IF NOT EXISTS hstore", TEMPLATE_DB)  # migration core.0098 needs it
    with tempfile.TemporaryDirectory(prefix="pulp-migrate-") as tmp:
        settings = Path(tmp) / "settings.py"
        (Path(tmp) / "tmp").mkdir()
        _write_settings(settings, TEMPLATE_DB, Path(tmp), f"http://127.0.0.1:{CONTENT_PORT}")
        _manager(settings, log, "migrate", "--noinput")
        _manager(settings, log, "reset-admin-password", "--password", PASSWORD)
    marker.touch()


def _port_free(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Pulp(PulpApiClient):
    """A running Pulp on a fresh database. Writes authenticate with Basic auth (what pulp-cli
    does); reads, such as task polls, with a session cookie, because a Basic check costs Pulp a
    PBKDF2 hash of about a third of a CPU-second and would load the server being measured."""

    name = "Pulp"
    poll_interval = 0.1

    def __init__(self, task_workers=2, api_workers=2, content_workers=2):
        install()
        prepare_template()
        for port in (API_PORT, CONTENT_PORT):
            if not _port_free(port):
                raise SystemExit(f"127.0.0.1:{port} is taken: another Pulp is running there")
        self.api_base = self.pypi_base = f"http://127.0.0.1:{API_PORT}"
        self.content_base = f"http://127.0.0.1:{CONTENT_PORT}"
        self.creds = f"admin:{PASSWORD}"
        self.auth = "Basic " + base64.b64encode(self.creds.encode()).decode()
        self.db = "depot_bench_pulp_" + uuid.uuid4().hex[:8]
        psql(f'CREATE DATABASE "{self.db}" TEMPLATE "{TEMPLATE_DB}"')
        self.dir = Path(tempfile.mkdtemp(prefix="pulp-run-", dir=HOME))
        for sub in ("media", "media/tmp", "logs"):
            (self.dir / sub).mkdir()
        self.settings = self.dir / "settings.py"
        _write_settings(self.settings, self.db, self.dir / "media", self.content_base)
        env = dict(os.environ, PULP_SETTINGS=str(self.settings))
        bin_dir = VENV / "bin"
        commands = {
            "api": [bin_dir / "pulpcore-api", "--bind", f"127.0.0.1:{API_PORT}", "--workers", str(api_workers),
                    "--no-control-socket"],
            "content": [bin_dir / "pulpcore-content", "--bind", f"127.0.0.1:{CONTENT_PORT}",
                        "--workers", str(content_workers), "--no-control-socket"],
            **{f"worker{i}": [bin_dir / "pulpcore-worker"] for i in range(1, task_workers + 1)},
        }
        self.procs = {}
        self.proxy = self.cookie = None
        try:
            for name, cmd in commands.items():
                log = open(self.dir / "logs" / f"{name}.log", "wb")
                self.procs[name] = subprocess.Popen([str(c) for c in cmd], env=env, stdout=log,
                                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                    cwd=self.dir)
            wait_until_up(self.api_base + "/pulp/api/v3/status/", f"pulpcore-api (logs: {self.dir}/logs)",
                          timeout=120, proc=self.procs["api"])
            wait_until_up(self.content_base + "/pulp/content/", "pulpcore-content", timeout=120,
                          proc=self.procs["content"])
            deadline = time.time() + 120
            while len(self.status()["online_workers"]) < task_workers:
                if time.time() > deadline:
                    raise SystemExit(f"Pulp's workers did not come online; see {self.dir}/logs")
                time.sleep(0.5)
            self.cookie = self._login()
            self.proxy = Nginx(proxy_to=self.api_base)
            self.registry = f"127.0.0.1:{self.proxy.port}"
        except BaseException:
            self.stop()
            raise

    def _login(self):
        req = urllib.request.Request(self.api_base + "/pulp/api/v3/login/", method="POST",
                                     headers={"Authorization": self.auth})
        with urllib.request.urlopen(req, timeout=60) as r:
            cookies = [h.split(";", 1)[0] for h in r.headers.get_all("Set-Cookie") or []]
        if not any(c.startswith("sessionid=") for c in cookies):
            raise SystemExit("Pulp's login gave no session cookie")
        return "; ".join(cookies)

    def headers(self, method):
        if method in ("GET", "HEAD") and self.cookie:
            return {"Cookie": self.cookie}
        return {"Authorization": self.auth}

    def status(self):
        return self.ok("GET", "/pulp/api/v3/status/")

    def versions(self):
        return {v["component"]: v["version"] for v in self.status()["versions"]}

    def pids(self):
        return [p.pid for p in self.procs.values()]

    def stop(self):
        if self.proxy:
            self.proxy.stop()
        for proc in self.procs.values():
            stop_process(proc, timeout=30)
        psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        shutil.rmtree(self.dir, ignore_errors=True)

