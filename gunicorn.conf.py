"""gunicorn settings for the connector: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Every value can be overridden from the environment (``GUNICORN_BIND``/``PORT``, ``WEB_CONCURRENCY``,
``GUNICORN_THREADS``, ``GUNICORN_WORKER_CLASS``, ``GUNICORN_TIMEOUT``) or on the command line. The access log
redacts the values of the ``code=`` and ``state=`` query parameters (OAuth callbacks), see
``connector.access_log``.

Worker class and counts. A request to the connector spends most of its time waiting for PostgreSQL, not
computing: a write is about ten statements and a commit (its own Python work is 15-25 ms), a read a few
statements. gunicorn's default ``sync`` worker holds a whole process idle through each of those waits and,
since it cannot keep connections alive, pays a new TCP connection per request. gunicorn's documentation
recommends ``gthread`` for this: threads in each process serve other requests while one waits (the GIL is
released during I/O), connections are kept alive, and memory grows with threads, not processes. The total
concurrency gunicorn recommends is 2-4 x the number of cores; we run ``cores + 1`` processes (one more than the
cores, so a process stuck in Python never idles a core) of 4 threads each: 12 requests at once on 2 cores,
24 on 4 (capped at 8 processes, since each holds a database connection pool of its own: 4 threads use at most
4 of its connections).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_CONCURRENCY") or min(multiprocessing.cpu_count() + 1, 8))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 5  # seconds an idle client connection stays open (gthread keeps connections alive; sync cannot)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
logger_class = "connector.access_log.RedactingAccessLogger"
#: the combined format plus the request time in milliseconds
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
