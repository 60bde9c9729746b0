"""``_``: the translation function of user-facing text (Chinese msgids).

Flask-Babel is being added on another branch; until it is merged this module
gives the identity (with ``%(name)s`` substitution, as Babel's ``gettext``
does), so the pages work on their own. Python code imports ``_`` from here;
templates get it as a Jinja global from the app factory.
"""

from __future__ import annotations

from typing import Any

try:  # pragma: no cover - depends on whether Flask-Babel is installed
    from flask_babel import gettext as _
except ImportError:

    def _(message: str, **variables: Any) -> str:
        return message % variables if variables else message


__all__ = ["_"]
