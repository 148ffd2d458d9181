"""The portal's settings, one module per mode (DJANGO_SETTINGS_MODULE):

* `portal.settings.runtime`: `make run` (DEBUG on) and production (DEBUG off), the default
  of manage.py, the WSGI/ASGI applications and Celery;
* `portal.settings.test`: the test suite and benchmarks (throwaway secrets).

Both build on `base` (and its `background` and `mcp` parts), which reads the environment.
"""
