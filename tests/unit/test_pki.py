"""The meters' CA (iot/pki.py), the broker's rendered configuration and ACL (iot/broker.py), and the
`meter` commands: files on disk and texts, no broker process."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from gridledger.cli.main import app
from gridledger.errors import InputError, PkiError
from gridledger.iot import pki
from gridledger.iot.broker import GATEWAY_READ, render_acl, render_config, write_broker_config


@pytest.fixture
def ca_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    pki.create_ca(folder)
    return folder


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def common_name(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_create_ca_writes_the_layout_with_private_files_0600(ca_folder: Path) -> None:
    assert (ca_folder / "ca.crt").is_file()
    assert mode(ca_folder / "ca" / "ca.key") == 0o600
    crl = x509.load_pem_x509_crl((ca_folder / "ca" / "crl.pem").read_bytes())
    ca = pki.load_ca(ca_folder)
    assert crl.is_signature_valid(ca.key.public_key())
    assert list(crl) == []
    assert pki.issued(ca_folder) == []
    constraints = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0


def test_create_ca_refuses_to_overwrite_a_ca(ca_folder: Path) -> None:
    before = (ca_folder / "ca.crt").read_bytes()
    with pytest.raises(PkiError, match="has a CA already"):
        pki.create_ca(ca_folder)
    assert (ca_folder / "ca.crt").read_bytes() == before


def test_without_a_ca_provisioning_refuses(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="no CA"):
        pki.provision_device(tmp_path / "nothing", "meter-1")
    with pytest.raises(PkiError, match="no CA"):
        pki.load_ca(tmp_path / "nothing")


def test_a_device_folder_is_all_a_meter_needs(ca_folder: Path) -> None:
    device = pki.provision_device(ca_folder, "meter-1")
    folder = ca_folder / "devices" / "meter-1"
    assert device.folder == folder
    assert sorted(path.name for path in folder.iterdir()) == ["ca.crt", "signing.key", "tls.crt", "tls.key"]
    assert mode(folder / "tls.key") == 0o600 and mode(folder / "signing.key") == 0o600
    assert (folder / "ca.crt").read_bytes() == (ca_folder / "ca.crt").read_bytes()
    certificate = pki.read_certificate(folder / "tls.crt")
    ca = pki.load_ca(ca_folder)
    certificate.verify_directly_issued_by(ca.certificate)
    assert common_name(certificate) == "meter-1"
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert certificate.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert device.fingerprint == pki.fingerprint(certificate)
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", device.fingerprint)
    assert pki.read_signing_key(folder).address == device.signer_address
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", device.signer_address)
    [entry] = pki.issued(ca_folder)
    assert (entry.serial, entry.name, entry.kind, entry.active) == (device.serial, "meter-1", "device", True)


def test_provisioning_a_name_twice_refuses(ca_folder: Path) -> None:
    first = pki.provision_device(ca_folder, "meter-1")
    with pytest.raises(PkiError, match="'meter-1' holds a certificate"):
        pki.provision_device(ca_folder, "meter-1")
    # The refused run left the first identity alone.
    assert pki.read_signing_key(first.folder).address == first.signer_address
    assert len(pki.issued(ca_folder)) == 1


def test_a_revoked_device_is_provisioned_anew_with_new_keys(ca_folder: Path) -> None:
    first = pki.provision_device(ca_folder, "meter-1")
    pki.revoke(ca_folder, "meter-1")
    second = pki.provision_device(ca_folder, "meter-1")
    assert second.signer_address != first.signer_address and second.serial != first.serial
    assert [entry.active for entry in pki.issued(ca_folder)] == [False, True]


def test_revoke_puts_the_serial_on_a_resigned_crl(ca_folder: Path) -> None:
    kept = pki.provision_device(ca_folder, "meter-1")
    gone = pki.provision_device(ca_folder, "meter-2")
    before = x509.load_pem_x509_crl((ca_folder / "ca" / "crl.pem").read_bytes())
    revoked = pki.revoke(ca_folder, "meter-2")
    assert revoked.revoked_at is not None and revoked.serial == gone.serial
    crl = x509.load_pem_x509_crl((ca_folder / "ca" / "crl.pem").read_bytes())
    assert crl.is_signature_valid(pki.load_ca(ca_folder).key.public_key())
    assert [entry.serial_number for entry in crl] == [gone.serial]
    assert crl.get_revoked_certificate_by_serial_number(kept.serial) is None
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_revoke_refuses_an_unknown_name_and_a_second_revocation(ca_folder: Path) -> None:
    with pytest.raises(PkiError, match="never issued"):
        pki.revoke(ca_folder, "meter-9")
    pki.provision_device(ca_folder, "meter-1")
    pki.revoke(ca_folder, "meter-1")
    with pytest.raises(PkiError, match="revoked already"):
        pki.revoke(ca_folder, "meter-1")


def test_device_names_are_checked_and_the_gateway_prefix_is_the_gateways(ca_folder: Path) -> None:
    with pytest.raises(InputError):
        pki.provision_device(ca_folder, "a/b")
    with pytest.raises(InputError, match="gateways"):
        pki.provision_device(ca_folder, "gateway-1")
    assert not (ca_folder / "devices").exists()


def test_a_gateway_certificate_is_named_gateway_dash_name(ca_folder: Path) -> None:
    gateway = pki.provision_gateway(ca_folder, "north")
    assert gateway.common_name == "gateway-north"
    assert sorted(path.name for path in gateway.folder.iterdir()) == ["ca.crt", "tls.crt", "tls.key"]
    assert common_name(pki.read_certificate(gateway.certificate)) == "gateway-north"
    assert pki.active_gateways(ca_folder) == ["gateway-north"]
    with pytest.raises(PkiError, match="holds a certificate"):
        pki.provision_gateway(ca_folder, "north")
    with pytest.raises(PkiError, match="gateway name"):
        pki.provision_gateway(ca_folder, "no such")
    pki.revoke(ca_folder, "gateway-north")
    assert pki.active_gateways(ca_folder) == []


def test_the_broker_certificate_serves_127_0_0_1_and_localhost(ca_folder: Path) -> None:
    issued = pki.issue_broker_certificate(ca_folder)
    certificate = pki.read_certificate(issued.certificate)
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(address) for address in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert mode(issued.tls_key) == 0o600


def test_a_malformed_register_is_one_pki_error(ca_folder: Path) -> None:
    (ca_folder / "ca" / "issued.json").write_text('{"schema": "something else"}')
    with pytest.raises(PkiError, match="malformed"):
        pki.provision_device(ca_folder, "meter-1")
    (ca_folder / "ca" / "issued.json").write_text("not json")
    with pytest.raises(PkiError, match="cannot read the certificate register"):
        pki.issued(ca_folder)


def test_a_ca_key_of_another_ca_is_refused(tmp_path: Path) -> None:
    pki.create_ca(tmp_path / "one")
    pki.create_ca(tmp_path / "two")
    (tmp_path / "one" / "ca" / "ca.key").write_bytes((tmp_path / "two" / "ca" / "ca.key").read_bytes())
    with pytest.raises(PkiError, match="is not the key of"):
        pki.load_ca(tmp_path / "one")


def test_the_config_has_one_tls_listener_on_127_0_0_1_and_no_plaintext(
    ca_folder: Path, tmp_path: Path
) -> None:
    text = render_config(ca_folder, tmp_path / "broker", 18883)
    options = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert [option for option in options if option[0] in ("listener", "port", "bind_address")] == [
        ["listener", "18883", "127.0.0.1"]
    ]
    settings = {option[0]: option[1:] for option in options}
    for name, value in {
        "require_certificate": "true",
        "use_identity_as_username": "true",
        "allow_anonymous": "false",
        "persistence": "true",
        "tls_version": "tlsv1.2",
        "max_queued_messages": "100000",
    }.items():
        assert settings[name] == [value], name
    for name in ("cafile", "certfile", "keyfile", "crlfile", "acl_file", "persistence_location"):
        assert Path(settings[name][0]).is_absolute(), name
    assert settings["crlfile"] == [str((ca_folder / "ca" / "crl.pem").resolve())]
    # Every listener option follows the listener line, where mosquitto applies it to that listener.
    listener_at = next(i for i, option in enumerate(options) if option[0] == "listener")
    tls_at = [
        i for i, option in enumerate(options) if option[0] in ("cafile", "certfile", "require_certificate")
    ]
    assert min(tls_at) > listener_at


def test_the_acl_gives_devices_their_own_topics_and_gateways_theirs() -> None:
    lines = [line for line in render_acl(["gateway-north"]).splitlines() if line and not line.startswith("#")]
    assert lines == [
        "pattern write gridledger/meters/%u/readings",
        "pattern read gridledger/meters/%u/ack",
        "pattern read gridledger/meters/%u/error",
        "user gateway-north",
        f"topic read {GATEWAY_READ}",
        "topic write gridledger/meters/+/ack",
        "topic write gridledger/meters/+/error",
    ]
    # Mosquitto 2.0.11 checks a shared subscription's messages against their own topics.
    assert GATEWAY_READ == "gridledger/meters/+/readings"


def test_write_broker_config_issues_the_broker_certificate_once(ca_folder: Path, tmp_path: Path) -> None:
    pki.provision_gateway(ca_folder, "north")
    config = write_broker_config(ca_folder, tmp_path / "broker", 18883)
    assert config == tmp_path / "broker" / "mosquitto.conf"
    assert "user gateway-north" in (tmp_path / "broker" / "acl").read_text()
    assert (tmp_path / "broker" / "data").is_dir()
    first = (ca_folder / "broker" / "tls.crt").read_bytes()
    write_broker_config(ca_folder, tmp_path / "broker", 18883)
    assert (ca_folder / "broker" / "tls.crt").read_bytes() == first


def test_cli_meter_provision_prints_the_signer_address(tmp_path: Path) -> None:
    folder = tmp_path / "pki"
    result = CliRunner().invoke(app, ["meter", "provision", "meter-1", "meter-2", "--pki", str(folder)])
    assert result.exit_code == 0, result.output
    assert "created a new certificate authority" in result.output
    for name in ("meter-1", "meter-2"):
        address = pki.read_signing_key(folder / "devices" / name).address
        assert f"signer address  {address}" in result.output
        assert pki.fingerprint(pki.read_certificate(folder / "devices" / name / "tls.crt")) in result.output
    again = CliRunner().invoke(app, ["meter", "provision", "meter-3", "--pki", str(folder)])
    assert again.exit_code == 0 and "created a new certificate authority" not in again.output


@pytest.mark.parametrize("name", ["gateway-7", "bad/name", "m" * 65])
def test_cli_meter_provision_bad_name_exits_2_with_one_line(tmp_path: Path, name: str) -> None:
    result = CliRunner().invoke(app, ["meter", "provision", name, "--pki", str(tmp_path / "pki")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "device name" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "pki").exists()


def test_cli_meter_revoke_then_again_exits_2(tmp_path: Path) -> None:
    folder = str(tmp_path / "pki")
    assert CliRunner().invoke(app, ["meter", "provision", "meter-1", "--pki", folder]).exit_code == 0
    revoked = CliRunner().invoke(app, ["meter", "revoke", "meter-1", "--pki", folder])
    assert revoked.exit_code == 0 and "SIGHUP" in revoked.output
    again = CliRunner().invoke(app, ["meter", "revoke", "meter-1", "--pki", folder])
    assert again.exit_code == 2 and len(again.stderr.strip().splitlines()) == 1


def test_cli_broker_config_issues_gateways_and_prints_the_command(tmp_path: Path) -> None:
    folder, out = tmp_path / "pki", tmp_path / "broker"
    result = CliRunner().invoke(
        app,
        [
            "broker",
            "config",
            "--pki",
            str(folder),
            "--out",
            str(out),
            "--port",
            "18883",
            "--gateway",
            "north",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"-c {(out / 'mosquitto.conf').resolve()}" in result.output
    assert pki.active_gateways(folder) == ["gateway-north"]
    again = CliRunner().invoke(
        app, ["broker", "config", "--pki", str(folder), "--out", str(out), "--gateway", "north"]
    )
    assert again.exit_code == 0 and "gateway north:" not in again.output


def test_device_signers_binds_each_active_certificate_to_its_provisioned_signer(ca_folder: Path) -> None:
    first = pki.provision_device(ca_folder, "meter-a")
    second = pki.provision_device(ca_folder, "meter-b")
    pki.provision_gateway(ca_folder, "g1")
    assert pki.device_signers(ca_folder) == {
        "meter-a": bytes.fromhex(first.signer_address[2:]),
        "meter-b": bytes.fromhex(second.signer_address[2:]),
    }
    pki.revoke(ca_folder, "meter-a")
    assert set(pki.device_signers(ca_folder)) == {"meter-b"}
