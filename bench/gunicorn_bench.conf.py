"""Production's gunicorn.conf.py for the benchmark, less its access log, for JoyCart and the bare ceiling alike.

Production writes an access line per request, through its logconfig_dict. Unsetting `accesslog` alone
would not stop that: gunicorn formats the line whenever a logconfig_dict is set. And gunicorn 27 reads
`--access-logfile=` as a file named '' and refuses to start. So both settings are dropped here.
"""

import runpy
from pathlib import Path

PRODUCTION = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
globals().update((name, value) for name, value in runpy.run_path(str(PRODUCTION)).items() if not name.startswith("_"))
accesslog = None
logconfig_dict = {}
