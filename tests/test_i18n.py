"""Languages: Chinese by default, English complete, no hard-coded user-facing string.

The msgids are Chinese (docs/i18n.md), so a string that escaped ``_()`` is a
CJK character outside a translation call; the checks below look for exactly
that in templates, scripts and views, and check the catalogs against a fresh
extraction of the code.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from crypto import KioskKey
from rules import glossary
from tests.support.live import logged_in, make_live_app, staff_socket
from voting_server.i18n import JS_STRINGS
from voting_server.models import StaffRole

REPO = Path(__file__).resolve().parents[1]
I18N_DIR = REPO / "voting_server" / "translations"
TEMPLATES = REPO / "voting_server" / "templates"
SCRIPTS = [
    *sorted((REPO / "voting_server" / "static" / "js").glob("*.js")),
    *sorted((REPO / "kiosk_client" / "static" / "js").glob("*.js")),
    *sorted((REPO / "kiosk_client" / "static" / "js").glob("kiosk/*.mjs")),
]
VIEWS = [
    *sorted((REPO / "voting_server" / "views").glob("*.py")),
    REPO / "voting_server" / "sockets" / "errors.py",
    REPO / "voting_server" / "i18n.py",
]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
TRANSLATE_CALLS = {"_", "gettext", "N_", "pgettext", "ngettext", "lazy_gettext"}
# Official documents, kept in Chinese on purpose (docs/i18n.md).
DOCUMENT_TEMPLATES = ("sheets/",)


def read_catalog(locale: str):  # -> babel Catalog
    with (I18N_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


# --- the catalogs ---------------------------------------------------------------------------


@pytest.mark.slow
def test_committed_template_matches_a_fresh_extraction(tmp_path: Path) -> None:
    """A string added to the code without `make translations` fails here."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "N_", "--no-location", "-o", str(fresh), "."],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    with fresh.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with (I18N_DIR / "messages.pot").open("rb") as f:
        committed = {m.id for m in read_po(f) if m.id}
    assert extracted, "nothing extracted: babel.cfg or the keywords are wrong"
    assert sorted(extracted - committed) == [], "not in messages.pot: run make translations"
    assert sorted(committed - extracted) == [], "stale in messages.pot: run make translations"


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_catalog_has_every_message_of_the_template(locale: str) -> None:
    with (I18N_DIR / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    catalog = {m.id for m in read_catalog(locale) if m.id}
    assert sorted(template - catalog) == [], f"{locale}: run make translations"


def test_every_message_has_an_english_translation_with_the_same_placeholders() -> None:
    untranslated, fuzzy, placeholders = [], [], []
    for message in read_catalog("en"):
        if not message.id:
            continue
        if not message.string or not message.string.strip():
            untranslated.append(message.id)
        elif message.fuzzy:
            fuzzy.append(message.id)
        elif sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(message.string)):
            placeholders.append(message.id)
    assert untranslated == [], "no English translation"
    assert fuzzy == [], "fuzzy English translation (not compiled)"
    assert placeholders == [], "English translation with other %(name)s placeholders"


def test_english_translations_are_not_chinese() -> None:
    left = [m.id for m in read_catalog("en") if m.id and CJK.search(m.string or "")]
    assert left == []


def test_chinese_catalog_overrides_keep_their_placeholders() -> None:
    """zh_CN entries are empty (the msgid is the Chinese) unless they reword it."""
    bad = [
        m.id
        for m in read_catalog("zh_CN")
        if m.id
        and m.string
        and sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string))
    ]
    assert bad == []


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_compiled_catalog_is_what_the_po_file_says(locale: str) -> None:
    """The .mo files are committed: they must hold the .po's current translations."""
    folder = I18N_DIR / locale / "LC_MESSAGES"
    with (folder / "messages.mo").open("rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    expected = {m.id: m.string for m in read_catalog(locale) if m.id and m.string}
    assert compiled == expected, "run make translations (or pybabel compile)"


# --- no hard-coded strings -------------------------------------------------------------------


def _template_text_outside_translations(source: str) -> str:
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)  # comments
    source = re.sub(r"\{%\s*trans\b.*?\{%\s*endtrans\s*%\}", "", source, flags=re.S)
    # _("…") / gettext('…') / pgettext("ctx", "…") calls: their literal arguments
    return re.sub(
        r"\b(?:_|gettext|pgettext|ngettext)\(\s*(?:\"[^\"]*\"|'[^']*')"
        r"(?:\s*,\s*(?:\"[^\"]*\"|'[^']*'))*",
        "",
        source,
    )


def test_no_template_has_chinese_outside_a_translation_call() -> None:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name.startswith(DOCUMENT_TEMPLATES):
            continue
        rest = _template_text_outside_translations(path.read_text(encoding="utf-8"))
        for line in rest.splitlines():
            if CJK.search(line):
                found.append(f"{name}: {line.strip()}")
    assert found == [], "wrap these in _()"


def _strip_js_comments(source: str) -> str:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return re.sub(r"(^|[^:\"'])//[^\n]*", r"\1", source)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_no_script_holds_a_chinese_string(path: Path) -> None:
    """Scripts take their strings from the page (Screens.t), never their own."""
    code = _strip_js_comments(path.read_text(encoding="utf-8"))
    assert [line.strip() for line in code.splitlines() if CJK.search(line)] == []


def test_every_key_a_script_asks_for_exists() -> None:
    asked = set()
    for path in SCRIPTS:
        asked |= set(re.findall(r"\bt\(\s*\"([\w.]+)\"", path.read_text(encoding="utf-8")))
        for prefix, ids in re.findall(
            r"byPrefix\(\"([\w.]+)\",\s*\[([^\]]*)\]", path.read_text(encoding="utf-8")
        ):
            asked |= {prefix + i for i in re.findall(r"\"(\w+)\"", ids)}
    assert asked, "the pattern found no lookups"
    glossary_keys = {f"term.{key}" for key in glossary.TERMS}
    assert sorted(asked - set(JS_STRINGS) - glossary_keys) == []


def _hard_coded_strings(path: Path) -> list[str]:
    """String constants with Chinese outside a translation call, a docstring or a
    line marked ``# i18n: record`` (audit-log records, official documents)."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in TRANSLATE_CALLS:
                allowed |= {id(n) for arg in node.args for n in ast.walk(arg)}
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            allowed.add(id(body[0].value))  # docstring
    if "LOCALE_NAMES" in source:  # each language's name in its own language
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "LOCALE_NAMES" for t in node.targets
            ):
                allowed |= {id(n) for n in ast.walk(node.value)}
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and CJK.search(node.value)
            and id(node) not in allowed
            and "# i18n: record" not in lines[node.lineno - 1]
        ):
            found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_no_view_shows_a_chinese_string_outside_gettext(path: Path) -> None:
    assert _hard_coded_strings(path) == []


def test_the_check_finds_a_hard_coded_string(tmp_path: Path) -> None:
    """The checks above can fail: a bare Chinese message is caught, a wrapped one is not."""
    view = tmp_path / "view.py"
    view.write_text('from flask_babel import gettext\nA = gettext("好")\nB = "坏"\n')
    assert _hard_coded_strings(view) == ["view.py:3: '坏'"]
    template = '<p>{{ _("好") }}</p>\n<p>坏</p>'
    assert CJK.findall(_template_text_outside_translations(template)) == ["坏"]
    assert CJK.findall(_strip_js_comments('// 注释\nconst a = "坏";')) == ["坏"]


# --- pages in both languages -----------------------------------------------------------------


@pytest.fixture
def app(sqlite_url: str, tmp_path: Path) -> Flask:
    return make_live_app(sqlite_url, tmp_path / "instance")


def page_strings(html: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S)
    assert found, "the page carries no strings for its scripts"
    return json.loads(found.group(1))


def test_kiosk_is_chinese_by_default_even_for_an_english_browser(app: Flask) -> None:
    response = app.test_client().get("/kiosk", headers={"Accept-Language": "en-US,en;q=0.9"})
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "设备登记" in html and "Device enrollment" not in html
    strings = page_strings(html)
    assert (strings["mark.yes"], strings["mark.no"], strings["mark.abstain"]) == (
        "赞成",
        "反对",
        "弃权",
    )
    assert 'class="lang-switch' not in html  # no switch on the deputies' tablet


def test_kiosk_in_english(app: Flask) -> None:
    html = app.test_client().get("/kiosk?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Device enrollment" in html and "设备登记" not in html
    strings = page_strings(html)
    assert (strings["mark.yes"], strings["mark.no"], strings["mark.abstain"]) == (
        "For",
        "Against",
        "Abstain",
    )
    assert strings["kiosk.seat"] == "Seat %(seat)s"
    assert strings["term.not_voted"] == "Did not vote"  # the glossary's words, in English
    assert not [k for k, v in strings.items() if CJK.search(v)]


def test_the_choice_is_remembered_and_can_be_switched_back(app: Flask) -> None:
    client = app.test_client()
    assert "Staff login" in client.get("/login?lang=en").get_data(as_text=True)
    assert "Staff login" in client.get("/login").get_data(as_text=True)  # the cookie
    html = client.get("/login?lang=zh_CN").get_data(as_text=True)
    assert "工作人员登录" in html and "Staff login" not in html
    assert "工作人员登录" in client.get("/login").get_data(as_text=True)


def test_an_unknown_language_falls_back_to_chinese(app: Flask) -> None:
    client = app.test_client()
    assert "工作人员登录" in client.get("/login?lang=fr").get_data(as_text=True)
    assert client.get_cookie("lang") is None


@pytest.mark.slow
def test_staff_pages_show_the_language_switch(app: Flask) -> None:
    secretariat = logged_in(app, StaffRole.SECRETARIAT)
    html = secretariat.client.get("/admin/?body=1").get_data(as_text=True)
    assert "系统管理（秘书处）" in html
    assert 'href="/admin/?body=1&amp;lang=en"' in html and ">English</a>" in html
    english = secretariat.client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Administration (secretariat)" in english and "系统管理" not in english
    assert "Secretariat" in english  # the role in the nav bar


@pytest.mark.slow
def test_console_and_display_in_both_languages(app: Flask) -> None:
    presidium = logged_in(app, StaffRole.PRESIDIUM)
    client: FlaskClient = presidium.client
    zh = client.get("/console").get_data(as_text=True)
    assert "主席团控制台" in zh and page_strings(zh)["console.open"] == "开始表决"
    en = client.get("/console?lang=en").get_data(as_text=True)
    assert "Presidium console" in en and page_strings(en)["console.open"] == "Open vote"
    display = client.get("/display").get_data(as_text=True)  # the cookie says English now
    assert page_strings(display)["heading.selection"] == "Ballot result"


def test_a_refused_enrollment_speaks_the_chosen_language(app: Flask) -> None:
    payload = {"code": "WRONGCODE", "public_key": KioskKey.generate().public.spki_b64}
    zh = app.test_client().post("/api/kiosk/enroll", json=payload).get_json()
    assert zh["error"] == "enrollment_unknown"
    assert zh["message"] == "登记码有误：没有这个登记码，请核对后重新输入"
    assert zh["message_en"] == "No such enrollment code: check it and type it again."
    client = app.test_client()
    client.set_cookie("lang", "en")
    en = client.post("/api/kiosk/enroll", json=payload).get_json()
    assert en["message"] == "No such enrollment code: check it and type it again."


@pytest.mark.slow
def test_a_socket_refusal_speaks_the_connection_language(app: Flask) -> None:
    presidium = logged_in(app, StaffRole.PRESIDIUM)
    presidium.client.set_cookie("lang", "en")
    sio = staff_socket(app, presidium.client)
    try:
        answer = sio.emit("open_vote", {"vote": 99999}, callback=True)
    finally:
        sio.disconnect()
    assert answer["ok"] is False and answer["error"] == "unknown_vote"
    assert answer["message"] == "No such vote."


def test_a_login_error_in_english(app: Flask) -> None:
    client = app.test_client()
    client.get("/login?lang=en")
    with client.session_transaction() as data:
        token = data["csrf_token"]
    response = client.post(
        "/login", data={"username": "nobody", "password": "x" * 12, "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
