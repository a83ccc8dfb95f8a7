"""The WSGI entry point: ``gunicorn yangguang_receiver.wsgi`` from examples/receiver_django."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yangguang_receiver.settings")
application = get_wsgi_application()
