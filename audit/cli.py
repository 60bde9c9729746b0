"""``voting-audit``: the auditor's offline tool (CONTRACTS.md §4).

``verify`` needs nothing but the bundle. This module and everything it
imports must stay free of Flask, SQLAlchemy and the server (tests/test_audit_cli.py
and tests/test_install_auditor.py check): the auditor's own distribution
(``auditor/``, congress-voting-audit) holds only ``audit``, ``crypto`` and
``rules``. ``export`` reads the server's database, so the server adds it:
its ``voting-audit`` is ``voting_server.audit_cli``, these commands and
``export``. Here ``export`` is refused with a line saying where it runs.

Exit codes of ``verify``: 0 everything verified; 1 anything failed — also a
bundle without ``log.jsonl`` or ``keys.json``, because an incomplete bundle
is content that does not verify, not a mistake in the command line; 2 usage
errors only (no such directory, malformed ``--head``).

``prove`` prints an RFC 9162 inclusion or consistency proof as JSON (exit
2 for usage errors: no such directory or ``log.jsonl``, sizes or indices
outside the log). ``check-proof`` exits 0 when the proof holds for the
roots it names, 1 when it does not — also for a file that is not a proof —
and 2 when the file cannot be read.

``check-receipt`` and ``check-sheet`` verify the bundle, then check a
kiosk receipt or a result sheet's QR code against it (``audit.evidence``):
exit 0 when it matches, 1 when it or the bundle does not, 2 for usage
errors (no such directory or file).

Whatever the input, a run that does not exit 0 ends with exactly one line
on stderr, ``voting-audit: …``, naming what failed — never a traceback and
never click's multi-line usage banner (``AuditGroup``). Stdout keeps each
command's result as before. JSON files are read with a depth bound
(``rules.parsing.load_json``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from click.exceptions import NoArgsIsHelpError

from audit.bundle import KEYS_FILE, LOG_FILE, load_keys, parse_head, read_lines, verify_bundle
from audit.evidence import EvidenceError, check_receipt, check_sheet_code
from audit.merkle import leaf_hash
from audit.proofs import (
    ProofError,
    check_document,
    consistency_document,
    consistency_proof,
    inclusion_document,
    inclusion_proof,
    root_of,
)
from rules.parsing import load_json

EXIT_FAILED = 1
EXIT_USAGE = 2
MAX_JOBS = 1024
MESSAGE_MAX = 400  # characters of the one-line message on stderr
SERVER_ONLY = "export"  # the command only the server's voting-audit has (voting_server.audit_cli)


def _one_line(text: str) -> str:
    """``text`` on one line, not too long (it may quote a file's content)."""
    line = " ".join(str(text).split())
    return line if len(line) <= MESSAGE_MAX else line[: MESSAGE_MAX - 1] + "…"


def _say(message: str) -> None:
    """The one line on stderr that every failing run ends with."""
    click.echo(f"voting-audit: {_one_line(message)}", err=True)


class AuditGroup(click.Group):
    """Click's group, but every error is one line on stderr: usage errors exit 2
    (without click's usage banner), and anything a command did not foresee is
    reported as a failed check (exit 1) instead of a traceback — the auditor gets
    an answer, never a stack."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name == SERVER_ONLY:
            absent = click.ClickException(
                "export runs on the server; install congress-voting "
                "(this installation only checks bundles)"
            )
            absent.exit_code = EXIT_USAGE
            raise absent
        return command

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as exc:  # bare ``voting-audit``: the help, as click shows it
            exc.show()
            sys.exit(EXIT_USAGE)
        except click.UsageError as exc:
            where = exc.ctx.command_path.split(" ", 1)[-1] if exc.ctx and exc.ctx.parent else ""
            _say(f"{where + ': ' if where else ''}{exc.format_message()} (see --help)")
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            _say(exc.format_message())
            sys.exit(exc.exit_code)
        except click.Abort:
            _say("aborted")
            sys.exit(EXIT_FAILED)
        except (RecursionError, MemoryError, ValueError, TypeError, KeyError, OSError) as exc:
            _say(f"FAILED: the input could not be checked ({type(exc).__name__}: {exc})")
            sys.exit(EXIT_FAILED)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=AuditGroup, help="电子表决审计工具 — verify an exported audit log offline.")
def main() -> None:
    pass


def _head_option(_ctx: click.Context, _param: click.Parameter, value: str | None):
    if value is None:
        return None
    try:
        return parse_head(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command("verify")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR"
)
@click.option(
    "--head",
    callback=_head_option,
    metavar="SIZE:ROOT",
    help="A published head (from a result sheet); the log must contain it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=MAX_JOBS),
    metavar="N",
    help="Processes checking signatures (default: every core; 1: all in this process). "
    "The result is the same.",
)
def verify_command(
    directory: Path, head: tuple[int, str] | None, as_json: bool, jobs: int | None
) -> None:
    """Check the chain, every signature and ballot, and recount every result in DIR."""

    def progress(done: int, total: int) -> None:
        click.echo(f"verified {done:,} of {total:,} entries …", err=True)

    report = verify_bundle(directory, head, jobs=jobs, progress=progress)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        if report.ok:
            click.echo(f"OK: all {report.entries} entries verified")
        else:
            error = report.errors[0]
            click.echo(f"FAILED at entry {error['index']}: {error['reason']}")
        click.echo(f"head: {report.head['size']}:{report.head['root']}")
    if not report.ok:
        error = report.errors[0]
        _say(f"FAILED at entry {error['index']}: {error['reason']}")
    sys.exit(0 if report.ok else EXIT_FAILED)


@main.command("prove")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR"
)
@click.option(
    "--entry",
    "index",
    type=click.IntRange(min=0),
    metavar="I",
    help="An inclusion proof: entry I (0-based) is in the log.",
)
@click.option(
    "--from",
    "size1",
    type=click.IntRange(min=0),
    metavar="M",
    help="A consistency proof: the log of the first M entries is a prefix of the log.",
)
@click.option(
    "--size",
    type=click.IntRange(min=0),
    metavar="N",
    help="Prove against the head of the first N entries (default: the whole log).",
)
def prove_command(directory: Path, index: int | None, size1: int | None, size: int | None) -> None:
    """Print an RFC 9162 inclusion (--entry) or consistency (--from) proof for DIR's log."""
    if (index is None) == (size1 is None):
        raise click.UsageError("give exactly one of --entry I and --from M")
    entries, leaf_hashes = _leaf_hashes(directory / LOG_FILE, size)
    if size is None:
        size = entries
    elif size > entries:
        raise click.UsageError(f"--size {size}: the log has only {entries} entries")
    if index is not None:
        if index >= size:
            raise click.UsageError(
                f"--entry {index}: the log of size {size} has no such entry"
                + (f" (its entries are 0 to {size - 1})" if size else "")
            )
        document = inclusion_document(
            leaf_hashes[index],
            index,
            size,
            inclusion_proof(leaf_hashes, index, size),
            root_of(leaf_hashes, size),
        )
    else:
        assert size1 is not None
        if size1 == 0:
            raise click.UsageError(
                "--from 0: every log extends the empty one; M must be at least 1"
            )
        if size1 > size:
            raise click.UsageError(f"--from {size1} is beyond the size {size}: a log only grows")
        document = consistency_document(
            size1,
            size,
            root_of(leaf_hashes, size1),
            root_of(leaf_hashes, size),
            consistency_proof(leaf_hashes, size1, size),
        )
    click.echo(json.dumps(document))


def _leaf_hashes(path: Path, limit: int | None) -> tuple[int, list[bytes]]:
    """The number of entries in ``log.jsonl``, and the leaf hashes of the first ``limit``.

    Lines are split as ``audit.bundle.read_lines`` splits them (on ``\\n``
    only, the last newline optional); only their hashes are kept.
    """
    hashes: list[bytes] = []
    entries = 0
    try:
        with path.open("rb") as f:
            for raw in f:
                if limit is None or entries < limit:
                    hashes.append(leaf_hash(raw[:-1] if raw.endswith(b"\n") else raw))
                entries += 1
    except FileNotFoundError:
        raise click.UsageError(f"{path.parent} is not a bundle: it has no {LOG_FILE}") from None
    except OSError as exc:
        raise click.UsageError(f"cannot read {path}: {exc.strerror}") from None
    return entries, hashes


@main.command("check-proof")
@click.argument(
    "proof_file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
    metavar="PROOF.json",
)
def check_proof_command(proof_file: Path) -> None:
    """Check a proof printed by `prove` (PROOF.json, or - for standard input)."""
    try:
        text = sys.stdin.buffer.read() if str(proof_file) == "-" else proof_file.read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {proof_file}: {exc.strerror}") from None
    name = click.format_filename(proof_file)
    try:
        document = load_json(text)
    except ValueError as exc:
        _proof_failed(f"{name} is not JSON: {exc}")
    try:
        proved = check_document(document)
    except ProofError as exc:
        _proof_failed(str(exc))
    click.echo(f"OK: {proved}")


def _proof_failed(reason: str) -> NoReturn:
    click.echo(f"FAILED: {_one_line(reason)}")
    _say(f"FAILED: {reason}")
    sys.exit(EXIT_FAILED)


def _load_json(path: Path, what: str) -> object:
    name = click.format_filename(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.UsageError(f"cannot read {name}: {exc.strerror}") from None
    try:
        return load_json(data)
    except ValueError as exc:
        _fail(f"{what} {name} is not JSON: {exc}")


def _fail(reason: str, **extra: object) -> NoReturn:
    click.echo(json.dumps({"ok": False, "reason": reason, **extra}, ensure_ascii=False))
    first = extra.get("errors")
    if isinstance(first, list) and first:  # the bundle's own first failure says most
        reason = f"{reason}: entry {first[0]['index']}: {first[0]['reason']}"
    _say(f"FAILED: {reason}")
    sys.exit(EXIT_FAILED)


def _verified_lines(directory: Path) -> tuple[list[bytes], bytes]:
    """The bundle's lines and server key, once the whole bundle verified; else exit 1."""
    report = verify_bundle(directory)
    if not report.ok:
        _fail("the bundle does not verify", errors=report.errors)
    return read_lines(directory / LOG_FILE), load_keys(directory / KEYS_FILE).server


@main.command("check-receipt")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR"
)
@click.argument(
    "receipt_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="RECEIPT.json",
)
@click.option(
    "--head",
    callback=_head_option,
    metavar="SIZE:ROOT",
    help="A published head; the receipt's entry must be in the log it commits to.",
)
def check_receipt_command(
    directory: Path, receipt_file: Path, head: tuple[int, str] | None
) -> None:
    """Check a kiosk's receipt against the bundle: logged, signed, and under the head.

    For a secret vote the receipt proves that the deputy took part, never the choice.
    """
    receipt = _load_json(receipt_file, "receipt")
    lines, _ = _verified_lines(directory)
    try:
        proved = check_receipt(receipt, lines, head)
    except (EvidenceError, ProofError) as exc:
        _fail(str(exc))
    click.echo(json.dumps({"ok": True, **proved}, ensure_ascii=False))


@main.command("check-sheet")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR"
)
@click.argument(
    "code_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="CODE.json"
)
def check_sheet_command(directory: Path, code_file: Path) -> None:
    """Check a result sheet's QR code (decoded to CODE.json) against the bundle.

    Confirms that the sheet's result is the one logged, that the server signed
    the sheet's head, and that the bundle's log extends that head.
    """
    code = _load_json(code_file, "sheet code")
    lines, server_key = _verified_lines(directory)
    try:
        checked = check_sheet_code(code, lines, server_key)
    except (EvidenceError, ProofError) as exc:
        _fail(str(exc))
    click.echo(json.dumps({"ok": True, **checked}, ensure_ascii=False))


if __name__ == "__main__":
    main()
