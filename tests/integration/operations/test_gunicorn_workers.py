"""The shipped gunicorn.conf.py serves with threads: gthread workers, cores + 1 processes of 4 threads each,
every count overridable from the environment."""

from __future__ import annotations

import multiprocessing
import runpy
from pathlib import Path

import pytest
from gunicorn.config import Config

GUNICORN_CONF = Path(__file__).resolve().parents[3] / "gunicorn.conf.py"


def config(monkeypatch: pytest.MonkeyPatch, **environ: str) -> Config:
    for key in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_WORKER_CLASS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    cfg = Config()
    for key, value in runpy.run_path(str(GUNICORN_CONF)).items():
        if key in cfg.settings:
            cfg.set(key, value)
    return cfg


def test_threads_serve_while_a_request_waits_for_the_database(monkeypatch):
    cfg = config(monkeypatch)
    assert cfg.worker_class_str == "gthread" and cfg.threads == 4
    assert cfg.workers == min(multiprocessing.cpu_count() + 1, 8) and cfg.keepalive >= 2


def test_every_count_can_be_overridden(monkeypatch):
    cfg = config(monkeypatch, WEB_CONCURRENCY="2", GUNICORN_THREADS="1", GUNICORN_WORKER_CLASS="sync")
    assert (cfg.workers, cfg.threads, cfg.worker_class_str) == (2, 1, "sync")
