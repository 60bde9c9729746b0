"""The benchmark's baseline: a bare Socket.IO request/acknowledge handler.

The same stack as the hall server — Flask, Flask-SocketIO (python-socketio,
python-engineio), gunicorn with one gevent worker, configured by
config/gunicorn.conf.py — and one event, ``echo``, that acknowledges its
payload and does nothing else: no validation, no signature check, no
database, no broadcast. ``echo_per_s`` (CONTRACTS.md §5) is measured
against it with the same clients and the same payloads as the ballots::

    VOTING_BIND=127.0.0.1:5099 python -m gunicorn -c config/gunicorn.conf.py bench.echo_app:app
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_socketio import SocketIO

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent")


@app.get("/healthz")
def healthz() -> dict[str, bool]:
    return {"ok": True}


@socketio.on("echo")
def echo(data: Any = None) -> Any:
    return data
