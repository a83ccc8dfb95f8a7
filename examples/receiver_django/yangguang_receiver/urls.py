from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [path("webhooks/yangguang", views.receive, name="yangguang-webhooks")]
