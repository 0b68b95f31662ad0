"""The tools a newcomer trips over (issue 13), run as the real console scripts.

Each test shows one defect's new behaviour: fresh document numbers, EDOC_KEY /
EDOC_CERT for `edoc sign`, the sender's name from its certificate, one clear
line (with the fix and the documented exit code) for an address `serve` cannot
bind, a folder `receive` cannot write, a CA that does not vouch for the signer
and a second `agency import`; a quiet stop when the reader of our output goes
away; the subcommand's usage with a suggestion for a mistyped option; the
recipients of a receipt printed as a list of codes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import (
    G22,
    H49,
    TOOLS,
    AxisHome,
    AxisServer,
    CliResult,
    cli_env,
    init_home,
    run_cli,
    run_many,
    signed_document,
)
from tests.external import require_program
from tests.ports import held_port

NAME = "Văn phòng Chính phủ"


@pytest.fixture(scope="module")
def named_g22(axis_home: AxisHome) -> tuple[Path, Path]:
    """Another G22 key and certificate, issued with the agency's name as its O=."""
    target = axis_home.work / "g22-named"
    axis_home.axis("pki", "issue", G22, "--name", NAME, "--out", target).ok()
    return target / "key.pem", target / "cert.pem"


def _document_id(result: CliResult) -> str:
    match = re.search(r"\(DocumentId (.+)\)$", result.stdout.strip() or result.stderr.strip())
    assert match, result.describe()
    return match.group(1)


# --- edoc new / sign ------------------------------------------------------------------------


def test_new_without_a_number_gives_each_document_its_own_id_and_both_are_accepted(
    axis_home: AxisHome, axis: AxisServer, tmp_path: Path
) -> None:
    g22 = axis_home.agencies[G22]
    signing = {"EDOC_KEY": str(g22.key), "EDOC_CERT": str(g22.cert)}
    made = run_many(
        [
            ("edoc", ("new", "--from", G22, "--to", H49, "--subject", f"Văn bản {n}",
                      "-o", tmp_path / f"doc{n}.xml"))
            for n in (1, 2)
        ]
    )  # fmt: skip
    first, second = (_document_id(result.ok()) for result in made)
    assert first != second
    assert first.startswith(f"{G22},") and second.startswith(f"{G22},")
    for n in (1, 2):
        signed = tmp_path / f"doc{n}.signed.xml"
        run_cli("edoc", "sign", tmp_path / f"doc{n}.xml", "-o", signed, env=signing).ok()
        sent = run_cli("edoc", "send", signed, "--axis", axis.url, "--token", g22.token).ok()
        assert ": accepted id=" in sent.stdout, sent.describe()


def test_new_to_stdout_names_its_document_id_on_stderr(tmp_path: Path) -> None:
    result = run_cli("edoc", "new", "--from", G22, "--to", H49, "--subject", "x", "-o", "-")
    result.ok()
    assert result.stdout.startswith("<?xml"), result.describe()
    assert re.fullmatch(rf"wrote stdout \(DocumentId {re.escape(G22)},\S+\)", result.stderr.strip())


def test_sign_takes_key_and_cert_from_the_environment(axis_home: AxisHome, tmp_path: Path) -> None:
    g22 = axis_home.agencies[G22]
    unsigned, signed = tmp_path / "doc.xml", tmp_path / "doc.signed.xml"
    run_cli("edoc", "new", "--from", G22, "--to", H49, "--subject", "x", "-o", unsigned).ok()
    env = {"EDOC_KEY": str(g22.key), "EDOC_CERT": str(g22.cert)}
    run_cli("edoc", "sign", unsigned, "-o", signed, env=env).ok()
    verified = run_cli("edoc", "verify", signed, "--ca", axis_home.ca_cert, "--json").ok()
    assert verified.json()["agency_code"] == G22

    missing = run_cli("edoc", "sign", unsigned, "-o", signed, env={"EDOC_KEY": str(g22.key)})
    missing.refused("error", exit_code=2)
    assert "--cert is required (or set EDOC_CERT" in missing.stderr


def test_sign_with_a_key_that_is_not_the_certificates(axis_home: AxisHome, tmp_path: Path) -> None:
    g22, h49 = axis_home.agencies[G22], axis_home.agencies[H49]
    unsigned = tmp_path / "doc.xml"
    run_cli("edoc", "new", "--from", G22, "--to", H49, "--subject", "x", "-o", unsigned).ok()
    out = tmp_path / "out.xml"
    mismatched, not_a_key = run_many(
        [
            ("edoc", ("sign", unsigned, "--key", h49.key, "--cert", g22.cert, "-o", out)),
            ("edoc", ("sign", unsigned, "--key", g22.cert, "--cert", g22.cert, "-o", out)),
        ]
    )
    mismatched.refused("key.mismatch")
    not_a_key.refused("key.unusable")
    assert f"{g22.cert} (--key) is not an unencrypted PEM" in not_a_key.stderr


def test_sender_name_comes_from_the_certificate(
    named_g22: tuple[Path, Path], tmp_path: Path
) -> None:
    _, cert = named_g22
    out, other = tmp_path / "doc.xml", tmp_path / "other.xml"
    env = {"EDOC_CERT": str(cert)}
    run_cli("edoc", "new", "--from", G22, "--to", H49, "--subject", "x", "-o", out, env=env).ok()
    # a certificate of another agency says nothing about this sender's name
    run_cli("edoc", "new", "--from", H49, "--to", G22, "--subject", "x", "-o", other, env=env).ok()
    shown, shown_other = run_many(
        [("edoc", ("show", out, "--json")), ("edoc", ("show", other, "--json"))]
    )
    assert shown.ok().json()["sender_name"] == NAME
    assert shown_other.ok().json()["sender_name"] == H49


# --- edoc-axis serve --------------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    with held_port(listen=True) as port:
        yield port


def _assert_cannot_listen(result: CliResult, why: str) -> None:
    result.refused("listen.failed")
    assert why in result.stderr, result.describe()
    assert "server.stopped" not in result.stdout + result.stderr, result.describe()


@pytest.mark.parametrize("processes", ["1", "2"])
def test_serve_on_a_port_in_use(axis_home: AxisHome, taken_port: int, processes: str) -> None:
    result = axis_home.axis(
        "serve", "--host", "127.0.0.1", "--port", str(taken_port), "--processes", processes
    )
    _assert_cannot_listen(
        result, f"cannot listen on 127.0.0.1:{taken_port}: port {taken_port} is already in use"
    )
    assert "choose another port with --port" in result.stderr


def test_serve_on_an_address_of_another_machine(axis_home: AxisHome) -> None:
    result = axis_home.axis("serve", "--host", "192.0.2.1", "--port", "0")  # TEST-NET-1
    _assert_cannot_listen(result, "192.0.2.1 is not an address of this machine; give --host")


def test_endpoint_on_a_port_in_use(axis_home: AxisHome, taken_port: int, tmp_path: Path) -> None:
    result = run_cli(
        "edoc", "endpoint", "--listen", f"127.0.0.1:{taken_port}", "--out", tmp_path,
        "--axis-cert", axis_home.axis_cert,
    )  # fmt: skip
    _assert_cannot_listen(result, f"port {taken_port} is already in use")
    assert "edoc endpoint stopped" not in result.stdout


@pytest.fixture(scope="module")
def tls_home(tmp_path_factory: pytest.TempPathFactory) -> AxisHome:
    """An axis home made with `init --tls`: it serves HTTPS."""
    work = tmp_path_factory.mktemp("tls-home")
    run_cli("edoc-axis", "init", work / "home", "--port", "0", "--tls").ok()
    return AxisHome(root=work / "home", work=work)


@pytest.mark.parametrize("processes", ["1", "2"])
def test_serve_over_tls_on_a_port_in_use(
    tls_home: AxisHome, taken_port: int, processes: str
) -> None:
    result = tls_home.axis(
        "serve", "--host", "127.0.0.1", "--port", str(taken_port), "--processes", processes
    )
    _assert_cannot_listen(result, f"port {taken_port} is already in use")


def test_endpoint_over_tls_on_a_port_in_use(
    tls_home: AxisHome, taken_port: int, tmp_path: Path
) -> None:
    pki = tls_home.root / "pki"
    result = run_cli(
        "edoc", "endpoint", "--listen", f"127.0.0.1:{taken_port}", "--out", tmp_path,
        "--axis-cert", pki / "axis.cert.pem",
        "--tls-cert", pki / "tls.cert.pem", "--tls-key", pki / "tls.key.pem",
    )  # fmt: skip
    _assert_cannot_listen(result, f"port {taken_port} is already in use")


# --- output to a reader that went away --------------------------------------------------------


def _with_closed_stdout(*args: str | Path) -> tuple[int, str]:
    """Run ``edoc ARGS`` with a stdout pipe whose reader has gone (as `... | head` leaves it)."""
    process = subprocess.Popen(
        [str(TOOLS["edoc"]), *map(str, args)],
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.close()  # before the child can write: every write gets EPIPE
    _, err = process.communicate(timeout=60)
    return process.returncode, err.decode("utf-8", "replace")


def test_trace_into_a_closed_pipe_stops_quietly(
    axis_home: AxisHome, axis: AxisServer, tmp_path: Path
) -> None:
    g22 = axis_home.agencies[G22]
    doc = tmp_path / "doc.xml"
    doc.write_bytes(signed_document(g22))
    sent = run_cli("edoc", "send", doc, "--axis", axis.url, "--token", g22.token, "--json")
    axis_id = sent.ok().json()[0]["axis_id"]
    code, err = _with_closed_stdout("trace", axis_id, "--axis", axis.url, "--token", g22.token)
    assert (code, err) == (141, ""), err


def test_big_output_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    doc = tmp_path / "doc.xml"
    run_cli("edoc", "new", "--from", G22, "--to", H49, "--subject", "x", "-o", doc).ok()
    code, err = _with_closed_stdout("show", doc, "--json")
    assert (code, err) == (141, ""), err


# --- edoc receive into a folder it cannot write ----------------------------------------------


def _without_root_powers() -> list[str]:
    """A prefix that makes folder permissions count: root reads and writes anything, so as
    root the command runs without the capabilities that let it ignore them."""
    if os.geteuid() != 0:
        return []
    setpriv = require_program("setpriv")
    dropped = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={dropped}", f"--inh-caps={dropped}", "--"]


def test_receive_into_a_folder_it_cannot_write(
    axis_home: AxisHome, axis: AxisServer, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    h49 = axis_home.agencies[H49]
    try:
        results = []
        for out in (locked, locked / "inbox"):
            process = subprocess.run(
                [*_without_root_powers(), str(TOOLS["edoc"]), "receive", "--axis", axis.url,
                 "--token", h49.token, "--out", str(out)],
                env=cli_env(), capture_output=True, timeout=60, check=False,
            )  # fmt: skip
            results.append(
                CliResult(
                    ("edoc", "receive", str(out)),
                    process.returncode,
                    process.stdout.decode(),
                    process.stderr.decode(),
                )
            )
    finally:
        locked.chmod(0o755)
    for result, out in zip(results, (locked, locked / "inbox"), strict=True):
        result.refused("output.unwritable")
        assert f"folder {out}: permission denied" in result.stderr, result.describe()
        assert "choose another --out" in result.stderr
    assert not (locked / "inbox").exists()


# --- edoc verify --ca with the wrong CA ------------------------------------------------------


def test_verify_with_the_wrong_ca_says_why_in_our_words(
    axis_home: AxisHome, tmp_path: Path
) -> None:
    g22 = axis_home.agencies[G22]
    signed = tmp_path / "doc.signed.xml"
    signed.write_bytes(signed_document(g22))
    other_ca = tmp_path / "other-ca"
    run_cli("edoc-axis", "init", other_ca).ok()
    result = run_cli("edoc", "verify", signed, "--ca", other_ca / "pki" / "ca.cert.pem")
    result.refused("certificate.untrusted")
    # both development CAs are "CN=edoc-axis development CA": same name, another key
    assert "its issuer CN=edoc-axis development CA" in result.stderr
    assert "has the name of a trusted CA but not its key" in result.stderr
    assert result.stderr.rstrip().endswith(
        "give the certificate of the CA that issued it with --ca"
    )
    assert "exhausted" not in result.stderr and "candidates" not in result.stderr


# --- edoc-axis agency import ----------------------------------------------------------------


def test_agency_import_twice_names_the_refusal_once(axis_home: AxisHome, tmp_path: Path) -> None:
    key, cert = axis_home.issue("000.00.00.I13", "i13")
    shutil.copy(cert, tmp_path / "i13.pem")
    csv_file = tmp_path / "agencies.csv"
    csv_file.write_text("code,name,mode,cert\n000.00.00.I13,Sở thử nghiệm,pull,i13.pem\n", "utf-8")
    axis_home.axis("agency", "import", csv_file).ok()
    again = axis_home.axis("agency", "import", csv_file)
    again.refused("import.failed")
    assert again.stdout.count("agency.exists") == 1, again.describe()
    assert re.search(r"^2\s+000\.00\.00\.I13\s+agency\.exists: code '000\.00\.00\.I13' is",
                     again.stdout, re.M), again.describe()  # fmt: skip
    rows = axis_home.axis("agency", "import", csv_file, "--json").json()
    assert rows[0]["error"].startswith("agency.exists: code ")
    assert key.is_file()


# --- a mistyped option ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args", "usage", "suggestion"),
    [
        ("edoc", ("sign", "doc.xml", "--kye", "k.pem", "--cert", "c.pem", "-o", "o.xml"),
         "usage: edoc sign ", "unknown option --kye (did you mean --key?)"),
        ("edoc", ("trace", "01JD", "--jsn"), "usage: edoc trace ",
         "unknown option --jsn (did you mean --json?)"),
        ("edoc-axis", ("agency", "list", "--jsn"), "usage: edoc-axis agency list ",
         "unknown option --jsn (did you mean --json?)"),
        ("edoc", ("sgin", "doc.xml"), "usage: edoc ", "(did you mean 'sign'?)"),
        ("edoc", ("send", "doc.xml", "--cacrt", "ca.pem"), "usage: edoc send ",
         "unknown option --cacrt (did you mean --cacert?)"),
        ("edoc", ("trace", "01JD", "--client-crt", "c.pem"), "usage: edoc trace ",
         "unknown option --client-crt (did you mean --client-cert?)"),
        ("edoc", ("statuses", "--folow"), "usage: edoc statuses ",
         "unknown option --folow (did you mean --follow?)"),
        ("edoc", ("new", "--from", G22, "--to", H49, "--subject", "s", "--business", "update",
                  "--ref", "X", "--add-recipent", H49, "-o", "u.xml"), "usage: edoc new ",
         "unknown option --add-recipent (did you mean --add-recipient?)"),
        ("edoc", ("endpoint", "--out", "in", "--axis-cert", "a.pem", "--tls-crt", "t.pem"),
         "usage: edoc endpoint ", "unknown option --tls-crt (did you mean --tls-cert?)"),
        ("edoc-axis", ("init", "home", "--tsl"), "usage: edoc-axis init ",
         "unknown option --tsl (did you mean --tls?)"),
    ],
)  # fmt: skip
def test_a_mistyped_option_gets_the_subcommands_usage_and_a_suggestion(
    tool: str, args: tuple[str, ...], usage: str, suggestion: str
) -> None:
    result = run_cli(tool, *args)
    assert result.exit_code == 2, result.describe()
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(usage), result.describe()
    assert result.stderr_lines[-1].endswith(suggestion), result.describe()


# --- edoc verify-receipt ----------------------------------------------------------------------


def test_verify_receipt_lists_the_recipients_as_codes(
    axis_home: AxisHome, axis: AxisServer, tmp_path: Path
) -> None:
    g22 = axis_home.agencies[G22]
    doc = tmp_path / "doc.xml"
    doc.write_bytes(signed_document(g22, to=(H49, G22)))
    receipts = tmp_path / "receipts"
    run_cli("edoc", "send", doc, "--axis", axis.url, "--token", g22.token,
            "--save-receipt", receipts).ok()  # fmt: skip
    (receipt,) = receipts.iterdir()
    shown = run_cli("edoc", "verify-receipt", receipt, "--axis-cert", axis_home.axis_cert).ok()
    line = next(line for line in shown.stdout.splitlines() if line.startswith("recipients"))
    assert re.fullmatch(r"recipients\s+(\S+), (\S+)", line), shown.describe()
    assert set(re.findall(r"000\.00\.00\.\w+", line)) == {H49, G22}
    assert "[" not in line and "'" not in line


def test_serve_with_a_store_it_cannot_open(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    config = home.config.read_text("utf-8")
    home.config.write_text(config.replace('path = "store/axis.db"', 'path = "taken/axis.db"'))
    (home.config.parent / "taken").write_text("a file where the store's folder should be")
    result = home.axis("serve", "--port", "0")
    result.refused("store.unavailable")
    assert "cannot open the store: " in result.stderr
    assert "check [store] in the configuration" in result.stderr


def test_serve_with_an_unknown_store_backend(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    config = home.config.read_text("utf-8").replace('backend = "sqlite"', 'backend = "nothing"')
    home.config.write_text(config, "utf-8")
    result = home.axis("serve", "--port", "0")
    result.refused("config.invalid")
    assert "unknown store backend 'nothing' (supported: sqlite, postgresql)" in result.stderr
