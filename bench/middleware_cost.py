"""What each middleware costs a request: the read endpoints served in-process, with each middleware
removed in turn.

`python bench/middleware_cost.py` sets up what `bench/run.py` does (production settings, the same
database and cache, the bench store seeded), then calls Django's WSGI handler directly, with no
server and no network: for every configuration (all of MIDDLEWARE, then MIDDLEWARE without one of
them) and every page, `--iterations` requests one after another, in `--rounds` rounds interleaved
so a busy moment of the machine hits every configuration alike; the best round counts. It prints
the CPU time per request with everything, and what removing each middleware saves (negative: the
request got dearer without it). A page that fails without a middleware says so instead.

CPU time of this process (`time.process_time`), not wall time: on a shared machine another process
taking the CPU would otherwise show up as a middleware's cost, and the time spent waiting for
PostgreSQL or Redis is theirs, not the middleware's (a query a middleware makes still costs its
client-side CPU here). Differences below about 20 µs are noise.
"""

import argparse
import io
import os
import sys
import time

import run  # bench/ is on sys.path when this runs as a script, as for run.py


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1000, help="products in the bench store (default: 1000)")
    parser.add_argument("--iterations", type=int, default=200, help="requests per page, configuration and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the best counts")
    return parser.parse_args(argv)


def wsgi_environ(path: str, cookie: str) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    return environ


def request_once(handler, path: str, cookie: str) -> int:
    status = []
    response = handler(wsgi_environ(path, cookie), lambda line, headers: status.append(int(line.split()[0])))
    for _chunk in response:
        pass
    response.close()  # request_finished: what a server does after each response
    return status[0]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = run.bench_environment()
    run.manage(env, "migrate", "--noinput", "-v", "0")
    seeded = run.seed(env, args.products)
    os.environ.update(env)
    sys.path.insert(0, str(run.ROOT))
    import django

    django.setup()
    import logging

    # A page that cannot work without a middleware shows "fails" in the table, not its traceback.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    pages = {
        "ping": ("/ping", ""),
        "listing page": ("/", ""),
        "listing API": ("/api/v1/products/", ""),
        "product page": (f"/products/{seeded['slug']}/", ""),
        "home, logged in": ("/", seeded["shopper_cookie"]),
    }
    everything = list(settings.MIDDLEWARE)
    configurations = {"all": everything} | {
        name: [other for other in everything if other != name] for name in everything
    }
    handlers = {}
    for label, middleware in configurations.items():
        with override_settings(MIDDLEWARE=middleware):
            handlers[label] = WSGIHandler()
    best: dict[tuple[str, str], float] = {}
    failed: set[tuple[str, str]] = set()
    for _round in range(args.rounds):
        for label, handler in handlers.items():
            for page, (path, cookie) in pages.items():
                if (label, page) in failed:
                    continue
                try:
                    if request_once(handler, path, cookie) != 200:  # also warms this page's caches
                        failed.add((label, page))
                        continue
                except Exception:  # noqa: BLE001 - a page that cannot work without this middleware
                    failed.add((label, page))
                    continue
                started = time.process_time()
                for _ in range(args.iterations):
                    request_once(handler, path, cookie)
                per_request = (time.process_time() - started) / args.iterations * 1e6
                best[label, page] = min(best.get((label, page), per_request), per_request)

    width = max(map(len, configurations)) + 10
    run.say("CPU µs per request (in-process, best round); then CPU µs saved without each middleware")
    run.say(f"{'':<{width}}" + "".join(f"{page:>17}" for page in pages))
    run.say(f"{'all middleware':<{width}}" + "".join(f"{best['all', page]:>17.0f}" for page in pages))
    for label in everything:
        cells = []
        for page in pages:
            if (label, page) in failed or (label, page) not in best:
                cells.append(f"{'fails':>17}")
            else:
                cells.append(f"{best['all', page] - best[label, page]:>+17.0f}")
        run.say(f"{'- ' + label.rsplit('.', 1)[-1]:<{width}}" + "".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
