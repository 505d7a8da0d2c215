"""The Celery app. Beat uses django-celery-beat's database scheduler."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _own_database_pool(**kwargs):
    """A forked worker must not share its parent's pooled connections: it opens its own."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close_pool()


@worker_process_init.connect
def _own_publishing_loop(**kwargs):
    """A worker publishes its live events through one event loop of its own, started after
    the fork (a thread does not survive one), not a new loop and Redis connection each."""
    from helpdesk.realtime import use_own_loop

    use_own_loop()
