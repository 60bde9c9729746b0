"""What the tests share, in one place; no test module imports another test module.

- ``services``: the repository's paths, the PostgreSQL and Redis URLs, skip-or-fail
  when a service is missing (REQUIRE_SERVICES=1);
- ``db``: ``migrate`` (a copy of a once-migrated template database) and the
  ``sessions`` and ``demo_url`` fixtures;
- ``live``: the live app, staff logins, enrolled kiosks, a served port, the
  production server as a killable process (loaded as a pytest plugin);
- ``service_hall``: the demo committee driven through the services (``Hall``);
- ``socket_hall``: the demo committee over Socket.IO (``Hall``, ``Channel``, ``Tablet``);
- ``paper``: paper counts and countersignatures at the service level;
- ``logs``: ``LogBuilder``, a small honest sitting and a dishonest server's rewrite;
- ``bundles``: audit bundles on disk, ``voting-audit`` run on them, tamperings;
- ``sim``: simulated sittings (loaded as a pytest plugin);
- ``browser``: Chromium under Playwright and the real server for the browser tests;
- ``merkle``: the RFC 6962 test leaves and reference roots.
"""
