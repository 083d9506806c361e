"""A server process freezes the loaded app, so Python's full collections do not walk Django on every pass."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# After importing the entry point: how many objects are frozen, how many a full collection still
# walks, and whether the views were imported before the freeze.
PROBE = """
import gc, json, sys
import {module}
print(json.dumps({{
    "frozen": gc.get_freeze_count(),
    "scanned": len(gc.get_objects()),
    "views_loaded": "payments.api" in sys.modules and "catalog.views" in sys.modules,
}}))
"""


@pytest.mark.parametrize("module", ["joycart.wsgi", "joycart.asgi"])
def test_the_server_entry_point_freezes_the_loaded_app_and_its_views(module):
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(  # noqa: S603 - this interpreter with a fixed script
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # The entry point logs the freeze to stdout too; the probe's answer is the last line.
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["views_loaded"]
    # Django alone is tens of thousands of objects; frozen, a full collection skips them.
    assert probe["frozen"] > 20_000
    assert probe["scanned"] < probe["frozen"] / 20
