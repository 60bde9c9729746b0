"""The demo data.

``county``: what ``voting-server demo`` loads — a county's congress session, its
standing committee and a township congress, with staff per body (issue 16).
``city``: the one 61-member city standing committee that plain ``simulate``, the
benchmark and many tests load; its names are re-exported here, where they lived
before the package was split.
"""

from voting_server.demo.city import (
    AGENDA,
    BODY_NAME,
    DEMO_STAFF,
    DEPARTMENTS,
    LIVELIHOOD_PROJECTS,
    MEMBER_NAMES,
    REGULATION,
    SITTING_TITLE,
    DemoItem,
    DemoVote,
    create_demo_staff,
    demo_roster,
    load_demo,
    member_name,
)

__all__ = [
    "AGENDA",
    "BODY_NAME",
    "DEMO_STAFF",
    "DEPARTMENTS",
    "LIVELIHOOD_PROJECTS",
    "MEMBER_NAMES",
    "REGULATION",
    "SITTING_TITLE",
    "DemoItem",
    "DemoVote",
    "create_demo_staff",
    "demo_roster",
    "load_demo",
    "member_name",
]
