"""gunicorn's settings for JoyCart, the same on every platform: `gunicorn -c gunicorn.conf.py joycart.wsgi:application`.

Read from the environment: WEB_CONCURRENCY (workers), GUNICORN_THREADS, PORT and FORWARDED_ALLOW_IPS.
Everything else is fixed here, reviewed like code. Only the fork hook at the end touches Django.
"""

import os


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"gunicorn.conf.py: {name} must be a whole number, at least 1 (got {value!r}).")
    return int(value)


def _cores() -> int:
    """The cores this process may run on (a container's or a cgroup's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Render and Heroku say where to listen in PORT, on every interface of their container; elsewhere
# (systemd behind nginx, `make serve`) only loopback.
bind = [f"0.0.0.0:{_env_int('PORT', 8000)}"] if os.environ.get("PORT") else ["127.0.0.1:8000"]

# One sync worker per core: the requests are CPU-bound, and on the bench's 2 cores more workers
# only added context switches, while threads (gthread) multiplied the p99 (bench/README.md).
workers = _env_int("WEB_CONCURRENCY", _cores())
threads = _env_int("GUNICORN_THREADS", 1)
worker_class = "sync" if threads == 1 else "gthread"

# The master imports joycart.wsgi once, which loads Django, imports every view and freezes them
# out of the garbage collector (joycart/serving.py). Each worker is then a fork that inherits the
# frozen app: it does not import or freeze again, starts in milliseconds, and shares those pages
# with its siblings. A deploy therefore restarts the whole master (the platforms and systemd do);
# `kill -HUP` would keep the old code.
preload_app = True

# A worker retires after this many requests (the jitter keeps them from retiring together), so a
# slow leak in a dependency costs a cheap fork from the preloaded master, never an outage.
max_requests = 5000
max_requests_jitter = 500

# A request still running after 30 s is killed with its worker: the gateway calls time out at
# RAZORPAY_TIMEOUT_SECONDS, and Heroku's router gives up at 30 s anyway. On SIGTERM (a deploy or
# a scale-down) workers finish what they hold for up to 25 s, inside the platforms' 30 s.
timeout = 30
graceful_timeout = 25
keepalive = 5

# X-Forwarded-Proto/-For are believed only from these addresses: the TLS proxy. Loopback by default
# (nginx on the same host); "*" where only the platform's router can reach the process (Render, Heroku).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# One access line per request, ready for the platform's log search: the request id is the one the
# app sends back in X-Request-ID, so a line finds the app's own log lines for it. The path goes
# without its query string, where e-mail addresses and search terms would be kept.
accesslog = "-"
errorlog = "-"
access_log_format = (
    'method=%(m)s path="%(U)s" status=%(s)s bytes=%(b)s duration_ms=%(M)s request_id=%({x-request-id}o)s'
)
# gunicorn's loggers keep no handler of their own and pass their lines to the root logger, which the
# preloaded app configures (joycart/logs.py): stdout then holds one format, JSON lines in production,
# the access line among them. Only what the master says before the app is loaded goes to stderr as text.
logconfig_dict = {
    "root": {"level": "INFO", "handlers": ["error_console"]},
    "loggers": {
        name: {"level": "INFO", "handlers": [], "propagate": True} for name in ("gunicorn.error", "gunicorn.access")
    },
}

proc_name = "joycart"
# Nothing here uses gunicorn's control socket; without it no socket file is left in $HOME.
control_socket_disable = True
# The workers' heartbeat files go to memory where there is some: a slow disk must not make the
# master think a busy worker is dead. gunicorn creates them with mkstemp, private to the process.
SHARED_MEMORY = "/dev/shm"  # noqa: S108
if os.path.isdir(SHARED_MEMORY):
    worker_tmp_dir = SHARED_MEMORY


def pre_fork(server, worker):
    """Nothing the preloaded app opened may be shared by two workers: a database connection used by
    two processes at once mixes their queries. Loading opens none today; this keeps it so."""
    if server.cfg.preload_app:
        from django.db import connections

        connections.close_all()
