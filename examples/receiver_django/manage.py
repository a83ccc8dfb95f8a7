#!/usr/bin/env python
"""Django's command-line utility for the webhook receiver example.

cd examples/receiver_django
YANGGUANG_WEBHOOK_SECRET=whpk_... python manage.py runserver
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yangguang_receiver.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
