"""Result sheets (表决结果 / 票决结果 / 测评结果), sitting minutes and exports, rendered from plain data.

Pure: no database, no Flask, no clock, nothing fetched. A ``ResultSheet``
holds what one sheet prints — the shell builds it from the database
(``services.results.sheet_source`` → ``ResultSheet.from_source``) — and this
module renders it as

- a printable A4 HTML page (``render_html``; ``minutes_html`` for a sitting),
- a PDF with an embedded Chinese font (``render_pdf``; ``minutes_pdf``),
- CSV (UTF-8 with BOM, so Excel reads the Chinese) and XLSX exports of the
  results and of the attendance (``results_csv``, ``results_xlsx``,
  ``attendance_csv``, ``attendance_xlsx``). Every exported cell is data,
  never a formula (``inert_cell``: every CSV/XLSX writer goes through it).

HTML and PDF print the same content, taken from one place (``model.SheetView``).
The QR code holds the sheet code of ``audit.evidence.sheet_code`` as compact
sorted JSON; under it the signed head is printed in text so that an auditor
can type it into ``voting-audit verify --head SIZE:ROOT``.

The PDF needs a CJK TrueType font on the machine (``$VOTING_CJK_FONT``, else
Debian's fonts-wqy-microhei / fonts-wqy-zenhei / fonts-noto-cjk paths); it is
embedded as a subset. Without one, ``SheetError`` says what to install; the
HTML sheet does not need it.

Modules, one job each: ``model`` (the sheet as data, and what it shows),
``html``, ``pdf`` (fpdf2 and the Chinese font), ``exports`` (CSV/XLSX). Times
are formatted in ``voting_server.timefmt``. The public names stay importable
from ``voting_server.sheets``.
"""

from voting_server.sheets.exports import (
    ATTENDANCE_COLUMNS,
    COLUMN_LABELS,
    FORMULA_STARTS,
    RESULT_COLUMNS,
    AttendanceRow,
    attendance_csv,
    attendance_rows,
    attendance_xlsx,
    csv_writer,
    inert_cell,
    inert_row,
    result_columns,
    result_rows,
    results_csv,
    results_xlsx,
    to_csv,
    to_xlsx,
)
from voting_server.sheets.html import minutes_html, render_html, render_section
from voting_server.sheets.model import (
    BLANK_SIGNATURES,
    MANUAL_NOTE,
    METHOD_LABELS,
    NO_CODE,
    ROLE_LABELS,
    STATUS_LABELS,
    ResultSheet,
    SheetError,
    code_payload,
    qr_image,
)
from voting_server.sheets.pdf import (
    FONT_ENV,
    FONT_PACKAGE,
    FONT_PATHS,
    cjk_font,
    minutes_pdf,
    render_pdf,
)
from voting_server.timefmt import BEIJING, beijing_time

__all__ = [
    "ATTENDANCE_COLUMNS",
    "BEIJING",
    "BLANK_SIGNATURES",
    "COLUMN_LABELS",
    "FONT_ENV",
    "FONT_PACKAGE",
    "FONT_PATHS",
    "FORMULA_STARTS",
    "MANUAL_NOTE",
    "METHOD_LABELS",
    "NO_CODE",
    "RESULT_COLUMNS",
    "ROLE_LABELS",
    "STATUS_LABELS",
    "AttendanceRow",
    "ResultSheet",
    "SheetError",
    "attendance_csv",
    "attendance_rows",
    "attendance_xlsx",
    "beijing_time",
    "cjk_font",
    "code_payload",
    "csv_writer",
    "inert_cell",
    "inert_row",
    "minutes_html",
    "minutes_pdf",
    "qr_image",
    "render_html",
    "render_pdf",
    "render_section",
    "result_columns",
    "result_rows",
    "results_csv",
    "results_xlsx",
    "to_csv",
    "to_xlsx",
]
