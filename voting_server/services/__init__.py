"""Application services: the shell's use cases over the database and the core.

Each service function takes a session inside a ``write_transaction`` and
the audit log; views and Socket.IO handlers only translate and authorize.
"""
