"""`gunicorn bench.bare.wsgi:application`, with the flags bench/run.py gives JoyCart's."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bare.settings")
application = get_wsgi_application()
# JoyCart's wsgi.py freezes its loaded app out of the garbage collector; the ceiling gets the same.
gc.collect()
gc.freeze()
