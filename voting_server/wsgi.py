"""WSGI entry point for gunicorn (``voting_server.wsgi:app``)."""

from voting_server.app import create_app

app = create_app()
