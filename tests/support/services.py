"""Where the tests find the repository and the services they use, and how a test
reacts when a service is missing: it skips with the reason — unless
REQUIRE_SERVICES=1 (set by .ci/run), where absence fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
POSTGRES_ADMIN_URL = os.environ.get(
    "VOTING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("VOTING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


def unavailable(service: str, reason: str) -> None:
    """Skip, or fail when the run requires every service."""
    message = f"{service} unavailable: {reason}"
    if services_required():
        pytest.fail(f"{message} (REQUIRE_SERVICES=1)")
    pytest.skip(message)
