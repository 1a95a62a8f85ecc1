"""The Celery app: broker, queues, routes, limits and the beat schedule. No business logic."""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging
from kombu import Queue

from worker.logs import configure
from worker.settings import Settings, get_settings

IO_QUEUE, NLP_QUEUE = "io", "nlp"
ROUTES = {
    "newsworker.tick": {"queue": IO_QUEUE},
    "newsworker.sweep": {"queue": IO_QUEUE},
    "newsworker.retention": {"queue": IO_QUEUE},
    "newsworker.poll_feed": {"queue": IO_QUEUE},
    "newsworker.fetch_article": {"queue": IO_QUEUE},
    "newsworker.annotate_article": {"queue": NLP_QUEUE},
}


def _embedded_broker_options(settings: Settings) -> dict:
    # The filesystem transport needs no server: producers and consumers share one folder.
    folder = (settings.data_dir / "broker").resolve()
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    # The folder is polled: 50 ms keeps latency low for short tasks. The control folder
    # (exchange tables) defaults to ./control: it belongs under the data folder.
    return {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"), "store_processed": False,
            "control_folder": str(folder / "control"), "polling_interval": 0.05}


def make_celery(settings: Settings) -> Celery:
    app = Celery("newsworker", broker=settings.resolved_broker_url(), include=["worker.tasks"])
    transport = (_embedded_broker_options(settings) if settings.embedded_broker
                 else {"visibility_timeout": 3600})
    app.conf.update(
        task_queues=[Queue(IO_QUEUE), Queue(NLP_QUEUE)],
        task_default_queue=IO_QUEUE,
        task_routes=ROUTES,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only when done, and given back if its worker dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        worker_max_tasks_per_child=1000,
        worker_max_memory_per_child=1_500_000,  # KiB
        worker_hijack_root_logger=False,
        beat_schedule={
            "tick": {"task": "newsworker.tick", "schedule": float(settings.scheduler_tick_seconds)},
            "sweep": {"task": "newsworker.sweep", "schedule": settings.sweep_seconds},
            "retention": {"task": "newsworker.retention", "schedule": 3600.0},
        },
        beat_schedule_filename=str((settings.data_dir / "celerybeat-schedule").resolve()),
        timezone="UTC",
    )
    return app


@setup_logging.connect
def _logging(**_kwargs) -> None:
    # Our format (text or JSON, with feed and article ids) instead of Celery's own.
    settings = get_settings()
    configure(settings.log_level, settings.log_format)


app = make_celery(get_settings())
