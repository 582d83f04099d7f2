"""The meters' certificate authority: one folder holds the CA, its register and CRL, and a
folder per device, gateway and the broker, each all that its holder needs (docs/iot.md).

    <pki>/ca.crt                      the CA certificate: what meters, gateways and the broker trust
    <pki>/ca/ca.key                   the CA's private key (0600)
    <pki>/ca/crl.pem                  the current CRL, re-signed on every revocation
    <pki>/ca/issued.json              the register: serial, name, kind, not_after, revoked_at
    <pki>/devices/<name>/tls.key      the device's TLS key, EC P-256 (0600)
    <pki>/devices/<name>/tls.crt      its client certificate, CN=<name>, EKU clientAuth
    <pki>/devices/<name>/signing.key  its EIP-712 secp256k1 key, 0x-hex (0600)
    <pki>/devices/<name>/ca.crt       a copy of the CA certificate
    <pki>/gateways/<name>/tls.key|tls.crt|ca.crt   a gateway's, CN=gateway-<name>
    <pki>/broker/tls.key|tls.crt      the broker's server certificate for 127.0.0.1 and localhost

A certificate's common name is its holder's MQTT user name (the broker's
`use_identity_as_username`), so the register keys certificates by that name: a device's name, or
`gateway-<name>` for a gateway. Device names never start with the gateway prefix
(topics.checked_device_name), so the two never meet.
"""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import coincurve
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gridledger.errors import PkiError
from gridledger.iot.topics import DEVICE_NAME, GATEWAY_NAME_PREFIX, checked_device_name
from gridledger.meter.signing import DeviceKey
from gridledger.ops.files import read_json_object, write_json_atomically

CA_CERTIFICATE = "ca.crt"
CA_FOLDER = "ca"
CA_KEY = "ca.key"
CRL = "crl.pem"
REGISTER = "issued.json"
LOCK = ".lock"
DEVICES = "devices"
GATEWAYS = "gateways"
BROKER = "broker"
TLS_KEY = "tls.key"
TLS_CERTIFICATE = "tls.crt"
SIGNING_KEY = "signing.key"

REGISTER_SCHEMA = "gridledger.pki-register/1"
DEFAULT_CA_NAME = "gridledger meter CA"
BROKER_COMMON_NAME = "gridledger-broker"
BROKER_HOSTS = ("localhost",)
BROKER_ADDRESSES = ("127.0.0.1",)
# A meter stays on the wall for 15 years or so; its certificate outlives a meter's calibration
# period, and a compromised one is revoked, not waited out.
CA_VALID_DAYS = 20 * 365
DEVICE_VALID_DAYS = 15 * 365
BROKER_VALID_DAYS = 2 * 365
# OpenSSL refuses every client once the CRL's nextUpdate is past, so the CRL is re-signed on
# every revocation and every broker configuration, and a year leaves room for both.
CRL_VALID_DAYS = 365
# Clocks of meters and the broker drift; a certificate made this minute must verify anyway.
CLOCK_SKEW = datetime.timedelta(minutes=5)
# X.509's upper bound of a common name (RFC 5280, ub-common-name).
MAX_COMMON_NAME = 64

Kind = Literal["device", "gateway", "broker"]


@dataclass(frozen=True)
class CertificateAuthority:
    """The CA of a PKI folder: its certificate and private key."""

    pki: Path
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def certificate_path(self) -> Path:
        return self.pki / CA_CERTIFICATE

    @property
    def crl_path(self) -> Path:
        return self.pki / CA_FOLDER / CRL


@dataclass(frozen=True)
class IssuedCertificate:
    """One entry of the CA's register."""

    serial: int
    name: str
    kind: Kind
    not_after: datetime.datetime
    revoked_at: datetime.datetime | None
    # A device's EIP-712 signer address, checksummed: the gateway refuses readings this
    # certificate publishes that another key signed (WrongDevice).
    signer: str | None = None

    @property
    def active(self) -> bool:
        """Issued and not revoked (an expired certificate is refused by TLS itself)."""
        return self.revoked_at is None


@dataclass(frozen=True)
class ProvisionedDevice:
    """A device's folder and what to register of it on-chain."""

    name: str
    folder: Path
    tls_key: Path
    certificate: Path
    signing_key: Path
    ca_certificate: Path
    signer_address: str
    fingerprint: str
    serial: int


@dataclass(frozen=True)
class ProvisionedGateway:
    """A gateway's folder; `common_name` is its MQTT user name, gateway-<name>."""

    name: str
    common_name: str
    folder: Path
    tls_key: Path
    certificate: Path
    ca_certificate: Path
    fingerprint: str
    serial: int


@dataclass(frozen=True)
class BrokerCertificate:
    """The broker's server key and certificate."""

    folder: Path
    tls_key: Path
    certificate: Path
    fingerprint: str
    serial: int


def device_folder(pki: Path, name: str) -> Path:
    return pki / DEVICES / name


def gateway_folder(pki: Path, name: str) -> Path:
    return pki / GATEWAYS / name


def broker_folder(pki: Path) -> Path:
    return pki / BROKER


def gateway_common_name(name: str) -> str:
    """The certificate name (and MQTT user name) of gateway `name`; PkiError if it cannot be one."""
    common_name = f"{GATEWAY_NAME_PREFIX}-{name}"
    if not DEVICE_NAME.fullmatch(name) or len(common_name) > MAX_COMMON_NAME:
        raise PkiError(
            f"gateway name {name!r}: letters, digits, '.', '-' or '_', starting with a letter or digit, "
            f"at most {MAX_COMMON_NAME - len(GATEWAY_NAME_PREFIX) - 1} characters"
        )
    return common_name


def fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it, to compare by eye."""
    return ":".join(f"{byte:02X}" for byte in certificate.fingerprint(hashes.SHA256()))


def create_ca(pki: Path, common_name: str = DEFAULT_CA_NAME) -> CertificateAuthority:
    """A new CA in `pki`, with an empty register and CRL; PkiError if `pki` has a CA already."""
    private = pki / CA_FOLDER
    try:
        private.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as unwritable:
        raise PkiError(f"cannot create the PKI folder {pki}: {unwritable}") from unwritable
    with _locked(pki):
        if (pki / CA_CERTIFICATE).exists() or (private / CA_KEY).exists():
            raise PkiError(f"{pki} has a CA already; a second one would orphan every certificate it issued")
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + datetime.timedelta(days=CA_VALID_DAYS))
            # path_length 0: this CA signs end-entity certificates only, never another CA.
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        ca = CertificateAuthority(pki, certificate, key)
        # Key and register first, the public certificate last: a CA is there once ca.crt is.
        _write(private / CA_KEY, _private_pem(key), private=True)
        _write_register(pki, [], crl_number=1)
        _sign_crl(ca, [], crl_number=1)
        _write(pki / CA_CERTIFICATE, _certificate_pem(certificate), private=False)
        return ca


def load_ca(pki: Path) -> CertificateAuthority:
    """The CA of `pki`; PkiError if there is none or its files are unreadable or do not match."""
    certificate_path, key_path = pki / CA_CERTIFICATE, pki / CA_FOLDER / CA_KEY
    if not certificate_path.exists():
        raise PkiError(f"no CA in {pki} (no {certificate_path}): create it first")
    certificate = _read_certificate(certificate_path)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError as missing:
        raise PkiError(f"the CA of {pki} has no private key {key_path}") from missing
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as unreadable:
        raise PkiError(f"cannot read the CA key {key_path}: {unreadable}") from unreadable
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != certificate.public_key():
        raise PkiError(f"the CA key {key_path} is not the key of {certificate_path}")
    return CertificateAuthority(pki, certificate, key)


def issued(pki: Path) -> list[IssuedCertificate]:
    """Every certificate the CA of `pki` issued, in issue order, revoked ones included."""
    return _read_register(pki)[0]


def active_gateways(pki: Path) -> list[str]:
    """The MQTT user names (gateway-<name>) of the gateways whose certificates are not revoked."""
    return sorted({entry.name for entry in issued(pki) if entry.kind == "gateway" and entry.active})


def device_signers(pki: Path) -> dict[str, bytes]:
    """Each device with an active certificate: the 20-byte signer address provisioned with it."""
    return {
        entry.name: bytes.fromhex(entry.signer.removeprefix("0x"))
        for entry in issued(pki)
        if entry.kind == "device" and entry.active and entry.signer is not None
    }


def provision_device(pki: Path, name: str) -> ProvisionedDevice:
    """A TLS key and client certificate and an EIP-712 signing key for device `name`, in
    devices/<name>/; PkiError if the name holds a certificate that is not revoked.

    A device revoked and provisioned again gets a new identity: new keys, so a new signer address
    to register on-chain; its old certificate stays on the CRL."""
    checked_device_name(name)
    with _locked(pki):
        ca = load_ca(pki)
        entries, crl_number = _read_register(pki)
        _refuse_taken(pki, entries, name)
        folder = device_folder(pki, name)
        tls_key = ec.generate_private_key(ec.SECP256R1())
        certificate = _issue(ca, name, tls_key.public_key(), DEVICE_VALID_DAYS, server=False)
        # coincurve draws the secret from the OS's random source, within the curve's order.
        secret = coincurve.PrivateKey().secret
        signing = DeviceKey(secret)
        paths = _write_identity(ca, folder, tls_key, certificate)
        _write(folder / SIGNING_KEY, f"0x{secret.hex()}\n".encode(), private=True)
        entries.append(_entry(certificate, name, "device", signing.address))
        _write_register(pki, entries, crl_number)
        return ProvisionedDevice(
            name=name,
            folder=folder,
            tls_key=paths[0],
            certificate=paths[1],
            signing_key=folder / SIGNING_KEY,
            ca_certificate=paths[2],
            signer_address=signing.address,
            fingerprint=fingerprint(certificate),
            serial=certificate.serial_number,
        )


def provision_gateway(pki: Path, name: str) -> ProvisionedGateway:
    """A TLS key and client certificate, CN gateway-<name>, in gateways/<name>/; PkiError if that
    name holds a certificate that is not revoked."""
    common_name = gateway_common_name(name)
    with _locked(pki):
        ca = load_ca(pki)
        entries, crl_number = _read_register(pki)
        _refuse_taken(pki, entries, common_name)
        folder = gateway_folder(pki, name)
        tls_key = ec.generate_private_key(ec.SECP256R1())
        certificate = _issue(ca, common_name, tls_key.public_key(), DEVICE_VALID_DAYS, server=False)
        paths = _write_identity(ca, folder, tls_key, certificate)
        entries.append(_entry(certificate, common_name, "gateway"))
        _write_register(pki, entries, crl_number)
        return ProvisionedGateway(
            name=name,
            common_name=common_name,
            folder=folder,
            tls_key=paths[0],
            certificate=paths[1],
            ca_certificate=paths[2],
            fingerprint=fingerprint(certificate),
            serial=certificate.serial_number,
        )


def issue_broker_certificate(pki: Path) -> BrokerCertificate:
    """A new server key and certificate for the broker at 127.0.0.1 and localhost, in broker/,
    replacing any earlier one (a server certificate is trusted by its names, not its serial)."""
    with _locked(pki):
        ca = load_ca(pki)
        entries, crl_number = _read_register(pki)
        folder = broker_folder(pki)
        _make_folder(folder)
        tls_key = ec.generate_private_key(ec.SECP256R1())
        certificate = _issue(ca, BROKER_COMMON_NAME, tls_key.public_key(), BROKER_VALID_DAYS, server=True)
        _write(folder / TLS_KEY, _private_pem(tls_key), private=True)
        _write(folder / TLS_CERTIFICATE, _certificate_pem(certificate), private=False)
        entries.append(_entry(certificate, BROKER_COMMON_NAME, "broker"))
        _write_register(pki, entries, crl_number)
        return BrokerCertificate(
            folder,
            folder / TLS_KEY,
            folder / TLS_CERTIFICATE,
            fingerprint(certificate),
            certificate.serial_number,
        )


def revoke(pki: Path, name: str) -> IssuedCertificate:
    """Revoke the certificate of `name` (a device name, or gateway-<name>) and re-sign the CRL;
    PkiError if no certificate of that name is in force.

    The broker reads the CRL when it starts: see broker.MosquittoBroker for when a revocation
    takes effect."""
    with _locked(pki):
        ca = load_ca(pki)
        entries, crl_number = _read_register(pki)
        index = next(
            (
                i
                for i, entry in enumerate(entries)
                if entry.name == name and entry.kind != "broker" and entry.active
            ),
            None,
        )
        if index is None:
            known = any(entry.name == name for entry in entries)
            raise PkiError(
                f"{name!r} has no certificate in force in {pki}"
                + (" (it is revoked already)" if known else " (the CA never issued one)")
            )
        revoked = entries[index]
        entries[index] = IssuedCertificate(
            revoked.serial, revoked.name, revoked.kind, revoked.not_after, _now()
        )
        # Register first: should the CRL write fail, the next signing still lists the revocation.
        _write_register(pki, entries, crl_number + 1)
        _sign_crl(ca, entries, crl_number + 1)
        return entries[index]


def refresh_crl(pki: Path) -> Path:
    """Re-sign the CRL with a fresh validity period (the broker refuses every client once it
    expires); the path of crl.pem."""
    with _locked(pki):
        ca = load_ca(pki)
        entries, crl_number = _read_register(pki)
        _write_register(pki, entries, crl_number + 1)
        _sign_crl(ca, entries, crl_number + 1)
        return ca.crl_path


def read_signing_key(folder: Path) -> DeviceKey:
    """The EIP-712 signing key of a device folder; PkiError if it is missing or malformed."""
    path = folder / SIGNING_KEY
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as unreadable:
        raise PkiError(f"cannot read the signing key {path}: {unreadable}") from unreadable
    try:
        if not text.startswith("0x") or len(text) != 66:
            raise ValueError("not 0x and 64 hex digits")
        return DeviceKey(bytes.fromhex(text[2:]))
    except ValueError as malformed:
        raise PkiError(f"the signing key {path} is malformed: {malformed}") from malformed


def read_certificate(path: Path) -> x509.Certificate:
    """The PEM certificate in `path`; PkiError if it is missing or not one."""
    return _read_certificate(path)


def _issue(
    ca: CertificateAuthority,
    common_name: str,
    public_key: ec.EllipticCurvePublicKey,
    valid_days: int,
    server: bool,
) -> x509.Certificate:
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        # Never past the CA's own end: a chain is only as valid as its shortest link.
        .not_valid_after(min(now + datetime.timedelta(days=valid_days), ca.certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # One purpose each: a device's certificate cannot serve a rogue broker, nor the broker's a client.
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(host) for host in BROKER_HOSTS]
                + [x509.IPAddress(ipaddress.ip_address(address)) for address in BROKER_ADDRESSES]
            ),
            critical=False,
        )
    return builder.sign(ca.key, hashes.SHA256())


def _sign_crl(ca: CertificateAuthority, entries: list[IssuedCertificate], crl_number: int) -> None:
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - CLOCK_SKEW)
        .next_update(now + datetime.timedelta(days=CRL_VALID_DAYS))
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    for entry in entries:
        if entry.revoked_at is not None:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(entry.serial)
                .revocation_date(entry.revoked_at)
                .build()
            )
    crl = builder.sign(ca.key, hashes.SHA256())
    _write(ca.crl_path, crl.public_bytes(serialization.Encoding.PEM), private=False)


def _refuse_taken(pki: Path, entries: list[IssuedCertificate], name: str) -> None:
    if any(entry.name == name and entry.kind != "broker" and entry.active for entry in entries):
        raise PkiError(f"{name!r} holds a certificate of {pki} already; revoke it first to provision anew")


def _write_identity(
    ca: CertificateAuthority, folder: Path, key: ec.EllipticCurvePrivateKey, certificate: x509.Certificate
) -> tuple[Path, Path, Path]:
    _make_folder(folder)
    paths = (folder / TLS_KEY, folder / TLS_CERTIFICATE, folder / CA_CERTIFICATE)
    _write(paths[0], _private_pem(key), private=True)
    _write(paths[1], _certificate_pem(certificate), private=False)
    _write(paths[2], _certificate_pem(ca.certificate), private=False)
    return paths


def _entry(
    certificate: x509.Certificate, name: str, kind: Kind, signer: str | None = None
) -> IssuedCertificate:
    return IssuedCertificate(
        certificate.serial_number, name, kind, certificate.not_valid_after_utc, None, signer
    )


def _read_register(pki: Path) -> tuple[list[IssuedCertificate], int]:
    document = read_json_object(pki / CA_FOLDER / REGISTER, "certificate register", PkiError)
    try:
        if document.get("schema") != REGISTER_SCHEMA:
            raise ValueError(f"schema {document.get('schema')!r}, expected {REGISTER_SCHEMA!r}")
        entries = [_entry_of(row) for row in document["certificates"]]
        crl_number = document["crl_number"]
        if type(crl_number) is not int:
            raise ValueError("crl_number is not an integer")
    except (KeyError, TypeError, ValueError) as malformed:
        raise PkiError(
            f"the certificate register {pki / CA_FOLDER / REGISTER} is malformed: {malformed}"
        ) from None
    return entries, crl_number


def _entry_of(row: Any) -> IssuedCertificate:
    if row["kind"] not in ("device", "gateway", "broker"):
        raise ValueError(f"kind {row['kind']!r}")
    revoked_at = row["revoked_at"]
    return IssuedCertificate(
        serial=int(row["serial"], 16),
        name=str(row["name"]),
        kind=row["kind"],
        not_after=datetime.datetime.fromisoformat(row["not_after"]),
        revoked_at=None if revoked_at is None else datetime.datetime.fromisoformat(revoked_at),
        signer=None if row.get("signer") is None else str(row["signer"]),
    )


def _write_register(pki: Path, entries: list[IssuedCertificate], crl_number: int) -> None:
    write_json_atomically(
        pki / CA_FOLDER / REGISTER,
        {
            "schema": REGISTER_SCHEMA,
            "crl_number": crl_number,
            "certificates": [
                {
                    # Hex: a 159-bit serial is beyond the integers a JSON reader must keep exact.
                    "serial": f"{entry.serial:x}",
                    "name": entry.name,
                    "kind": entry.kind,
                    "not_after": entry.not_after.isoformat(),
                    "revoked_at": None if entry.revoked_at is None else entry.revoked_at.isoformat(),
                    "signer": entry.signer,
                }
                for entry in entries
            ],
        },
    )


@contextmanager
def _locked(pki: Path) -> Iterator[None]:
    """Hold the CA's lock: two provisioning runs at once would each write the register without
    the other's certificate."""
    private = pki / CA_FOLDER
    if not private.is_dir():
        raise PkiError(f"no CA in {pki} (no {private}): create it first")
    try:
        handle = (private / LOCK).open("a")
    except OSError as unwritable:
        raise PkiError(f"cannot lock the CA of {pki}: {unwritable}") from unwritable
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as unwritable:
        raise PkiError(f"cannot create {folder}: {unwritable}") from unwritable


def _write(path: Path, data: bytes, private: bool) -> None:
    """`data` to `path` whole or not at all; a private file is 0600 from its first byte on, never
    readable by others even for an instant."""
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            # mkstemp makes 0600 files; a public one is opened up only once it is complete.
            if not private:
                os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as unwritable:
        raise PkiError(f"cannot write {path}: {unwritable}") from unwritable


def _read_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError as missing:
        raise PkiError(f"no certificate at {path}") from missing
    except (OSError, ValueError) as unreadable:
        raise PkiError(f"cannot read the certificate {path}: {unreadable}") from unreadable


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # Unencrypted: a meter and the broker start unattended; the file's mode is the protection.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _now() -> datetime.datetime:
    # X.509 times have whole seconds; the register keeps what the certificate says.
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)
