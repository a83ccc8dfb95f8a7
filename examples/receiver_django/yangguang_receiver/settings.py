"""Settings of the webhook receiver example: everything comes from the environment."""

from __future__ import annotations

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")
ROOT_URLCONF = "yangguang_receiver.urls"
WSGI_APPLICATION = "yangguang_receiver.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True

# The endpoint's secret (whpk_... for Ed25519 endpoints, whsec_... for HMAC); during a rotation,
# a comma-separated list of the old and the new.
YANGGUANG_WEBHOOK_SECRETS = [s for s in os.environ.get("YANGGUANG_WEBHOOK_SECRET", "").split(",") if s]
# A SQLite file shared by all the server's worker processes; empty for an in-memory inbox.
YANGGUANG_WEBHOOK_INBOX = os.environ.get("YANGGUANG_WEBHOOK_INBOX", "")
