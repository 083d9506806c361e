"""A bare Django project, the benchmark's ceiling: what Django alone answers on the bench's gunicorn.

It imports nothing of JoyCart's, so JoyCart's own middleware and settings can be measured against it.
"""
