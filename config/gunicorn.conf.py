"""gunicorn settings for the hall server (``voting-server run`` uses this file).

One gevent worker holds every kiosk's WebSocket: Socket.IO's sessions live in
the worker's memory, so more workers need sticky sessions and the Redis
message queue (the scale-out configuration).
"""

import os

bind = os.environ.get("VOTING_BIND", "127.0.0.1:5080")
worker_class = "gevent"
workers = int(os.environ.get("VOTING_WORKERS", "1"))
worker_connections = 10_000  # a national hall has ~3,000 kiosks plus consoles
timeout = 60
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("VOTING_ACCESS_LOG", "-")
# Request lines only: no query strings with codes or PINs are ever put in URLs.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("VOTING_LOG_LEVEL", "info")
# HTTPS on the hall LAN (voting-server run sets these when it serves TLS; docs/tls.md).
certfile = os.environ.get("VOTING_TLS_CERT") or None
keyfile = os.environ.get("VOTING_TLS_KEY") or None
