"""A minimal Django project that receives the insurer's webhooks (settings in one module)."""
