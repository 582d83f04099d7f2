"""Mosquitto for the platform: its configuration and ACL from the PKI, and the broker process.

The configuration is the package's mosquitto.conf.template: mutual TLS on one loopback
listener and nothing else, the client's certificate name as its user name, and an ACL file that
lets a device write its own readings topic and read its own ack and error topics (`%u`
patterns) and lets each gateway of the PKI register read every device's readings (through the
shared subscription topics.shared_readings_filter) and answer on every ack and error topic.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import time
from importlib import resources
from pathlib import Path
from string import Template
from types import TracebackType

from gridledger.chain.rpc import free_port
from gridledger.errors import BrokerError, PkiError
from gridledger.iot import pki as pki_files
from gridledger.iot.topics import ACK, ERROR, READINGS, ROOT

HOST = "127.0.0.1"
DEFAULT_PORT = 8883
CONFIG = "mosquitto.conf"
ACL = "acl"
PERSISTENCE = "data"
LOG = "mosquitto.log"
STDERR = "mosquitto.stderr"
TEMPLATE = "mosquitto.conf.template"
DEFAULT_BINARY = Path("/usr/sbin/mosquitto")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
# Polling the port and the log costs next to nothing; a twentieth of a second keeps start and
# reload quick without spinning.
POLL_INTERVAL = 0.05
# What mosquitto logs when it handles a SIGHUP.
RELOAD_LOGGED = "Reloading config."
# What a gateway may read. Mosquitto 2.0.11 grants every SUBSCRIBE of the acl_file's clients and
# checks read access as it delivers each message, against the message's own topic: so the ACL
# names the plain readings filter, which a shared subscription's messages match; an ACL of
# "$share/gateways/..." matches no topic a message has, and its gateway would receive nothing.
GATEWAY_READ = f"{ROOT}/+/{READINGS}"
GATEWAY_WRITES = (f"{ROOT}/+/{ACK}", f"{ROOT}/+/{ERROR}")


def render_acl(gateways: list[str]) -> str:
    """The ACL file: devices by `%u` pattern, then each gateway user by name."""
    # Mosquitto applies `pattern` lines to every user, gateways included: a gateway may write
    # gridledger/meters/gateway-<name>/readings, a topic no device can have (topics.py keeps the
    # prefix from device names), whose readings are signed by no registered device key.
    lines = [
        "# Written by `gridledger broker config` from the PKI register; regenerate it rather than edit it.",
        "# A device, known by its certificate's name, writes its own readings and reads its own answers.",
        f"pattern write {ROOT}/%u/{READINGS}",
        f"pattern read {ROOT}/%u/{ACK}",
        f"pattern read {ROOT}/%u/{ERROR}",
    ]
    for gateway in gateways:
        lines += ["", f"user {gateway}", f"topic read {GATEWAY_READ}"]
        lines += [f"topic write {topic}" for topic in GATEWAY_WRITES]
    return "\n".join(lines) + "\n"


def render_config(pki: Path, folder: Path, port: int) -> str:
    """The mosquitto.conf text of a broker whose files are in `folder`, on 127.0.0.1:`port`."""
    if not 0 < port < 65536:
        raise BrokerError(f"port {port} is not a TCP port (1 to 65535)")
    pki, folder = pki.resolve(), folder.resolve()
    paths = {
        "acl_file": folder / ACL,
        "persistence_location": folder / PERSISTENCE,
        "log_file": folder / LOG,
        "cafile": pki / pki_files.CA_CERTIFICATE,
        "certfile": pki_files.broker_folder(pki) / pki_files.TLS_CERTIFICATE,
        "keyfile": pki_files.broker_folder(pki) / pki_files.TLS_KEY,
        "crlfile": pki / pki_files.CA_FOLDER / pki_files.CRL,
    }
    for name, path in paths.items():
        # A line break would end the option and start another of the path's choosing.
        if any(character in str(path) for character in "\r\n"):
            raise BrokerError(f"the {name} path {str(path)!r} has a line break")
    template = resources.files("gridledger.iot").joinpath(TEMPLATE).read_text(encoding="utf-8")
    return Template(template).substitute(
        {name: str(path) for name, path in paths.items()},
        port=port,
        host=HOST,
        user=pwd.getpwuid(os.geteuid()).pw_name,
    )


def write_broker_config(pki: Path, folder: Path, port: int) -> Path:
    """Write mosquitto.conf, the ACL (from the PKI register's gateways) and the persistence folder
    into `folder`, issuing the broker's certificate if the PKI has none and re-signing the CRL
    (which must never lapse); the path of mosquitto.conf."""
    pki_files.load_ca(pki)
    broker = pki_files.broker_folder(pki)
    if not (broker / pki_files.TLS_CERTIFICATE).exists() or not (broker / pki_files.TLS_KEY).exists():
        pki_files.issue_broker_certificate(pki)
    pki_files.refresh_crl(pki)
    config = render_config(pki, folder, port)
    try:
        (folder / PERSISTENCE).mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_text(folder / ACL, render_acl(pki_files.active_gateways(pki)))
        _write_text(folder / CONFIG, config)
    except OSError as unwritable:
        raise BrokerError(f"cannot write the broker configuration in {folder}: {unwritable}") from unwritable
    return folder / CONFIG


def mosquitto_binary() -> Path:
    """The mosquitto executable: on the PATH, else Debian's /usr/sbin/mosquitto (sbin is often
    not on a user's PATH); BrokerError if neither."""
    found = shutil.which("mosquitto")
    if found is not None:
        return Path(found)
    if os.access(DEFAULT_BINARY, os.X_OK):
        return DEFAULT_BINARY
    raise BrokerError(
        "mosquitto is not installed (not on the PATH, no /usr/sbin/mosquitto): apt install mosquitto"
    )


def client_tls_context(folder: Path) -> ssl.SSLContext:
    """The TLS context of a device or gateway folder: trusts folder/ca.crt only, presents
    folder/tls.crt with folder/tls.key, TLS 1.2 or later, and checks the broker's name."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(cafile=folder / pki_files.CA_CERTIFICATE)
        context.load_cert_chain(folder / pki_files.TLS_CERTIFICATE, folder / pki_files.TLS_KEY)
    except (OSError, ssl.SSLError) as unreadable:
        raise PkiError(f"cannot load the TLS files of {folder}: {unreadable}") from unreadable
    return context


class MosquittoBroker:
    """A Mosquitto process on 127.0.0.1 serving the PKI's clients, its files in `folder`.

    `with MosquittoBroker(pki, folder) as broker:` starts it on a free port (or `port`) and stops
    it on leaving. Every start and reload writes the configuration afresh from the PKI: the ACL's
    gateways from the register, a re-signed CRL.

    A revocation, on Mosquitto 2.0.11: reload() (SIGHUP) makes the broker read the new CRL, and
    from then on it refuses the revoked certificate's TLS handshakes; a client connected at the
    time keeps its connection, and may go on publishing, until it disconnects. restart() cuts
    every connection, so a revoked client is out at once; queued QoS 1 messages and persistent
    sessions survive it in the persistence folder."""

    def __init__(self, pki: Path, folder: Path, port: int | None = None) -> None:
        self.pki = pki
        self.folder = folder
        self.port = port if port is not None else free_port()
        self.binary = mosquitto_binary()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The PID of the running broker; BrokerError if it is not running."""
        if self._process is None:
            raise BrokerError("the broker is not running")
        return self._process.pid

    @property
    def config_path(self) -> Path:
        return self.folder / CONFIG

    @property
    def log_path(self) -> Path:
        return self.folder / LOG

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Write the configuration afresh (the PKI may have changed), start mosquitto and return
        once it completes TLS handshakes with the broker certificate; BrokerError if it exits or
        is not serving by `timeout` seconds."""
        if self._process is not None and self._process.poll() is None:
            raise BrokerError(f"the broker is running already (PID {self._process.pid})")
        config = write_broker_config(self.pki, self.folder, self.port)
        with (self.folder / STDERR).open("wb") as errors:
            self._process = subprocess.Popen(
                [str(self.binary), "-c", str(config.resolve())],
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=errors,
            )
        try:
            self._wait_serving(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, which makes mosquitto save its persistence file, and wait; SIGKILL if it has
        not exited by `timeout` seconds. Signals go to this broker's own PID only."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def restart(self) -> None:
        """Stop and start again on the same port with the same persistence folder: the way to
        make mosquitto read a new CRL (and broker certificate)."""
        self.stop()
        self.start()

    def reload(self) -> None:
        """Rewrite the configuration, ACL and CRL, and SIGHUP the broker: it re-reads the ACL file and
        the listener's certificates and CRL (Mosquitto 2.0.11), so a revoked certificate is refused
        from its next handshake on. Connections open now stay open: restart() to cut them.
        Returns once the broker has logged the reload; the broker handles a connection only after
        the reload it logged is complete, since one thread does both."""
        write_broker_config(self.pki, self.folder, self.port)
        # Only what the broker logs after the signal counts: an earlier reload's line is no answer.
        offset = self._log_size()
        os.kill(self.pid, signal.SIGHUP)
        deadline = time.monotonic() + START_TIMEOUT
        while RELOAD_LOGGED not in self._log_since(offset):
            self._check_alive()
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"the broker did not log a reload within {START_TIMEOUT:.0f} s ({self.log_path})"
                )
            time.sleep(POLL_INTERVAL)

    def wait(self) -> int:
        """Block until the broker exits; its exit code."""
        if self._process is None:
            raise BrokerError("the broker is not running")
        return self._process.wait()

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_serving(self, timeout: float) -> None:
        # Serving means a TLS handshake whose server certificate verifies against this PKI's CA
        # for 127.0.0.1. The broker then refuses this certificate-less probe, by an alert within
        # the handshake (TLS 1.2) or after it (TLS 1.3), but only once it is up; any other failure
        # (nothing listening yet, not TLS) is polled again until the deadline.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=self.pki / pki_files.CA_CERTIFICATE)
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                with (
                    socket.create_connection((HOST, self.port), timeout=1.0) as raw,
                    context.wrap_socket(raw, server_hostname=HOST),
                ):
                    pass
                break
            except ssl.SSLCertVerificationError as wrong:
                raise BrokerError(
                    f"the server on {HOST}:{self.port} presents a certificate this PKI did not issue: {wrong}"
                ) from wrong
            except ssl.SSLError as failed:
                if "ALERT" in (failed.reason or ""):
                    break
                last = str(failed)
            except OSError as failed:
                last = str(failed)
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"mosquitto is not serving TLS on {HOST}:{self.port} after {timeout:.0f} s ({last}; "
                    f"see {self.log_path})"
                )
            time.sleep(POLL_INTERVAL)
        # A port taken by another server answers too: the broker must still be running after it.
        self._check_alive()

    def _check_alive(self) -> None:
        if self._process is None:
            raise BrokerError("the broker is not running")
        code = self._process.poll()
        if code is not None:
            self._process = None
            raise BrokerError(f"mosquitto exited with code {code}: {self._last_words()}")

    def _last_words(self) -> str:
        words = []
        for path in (self.folder / STDERR, self.log_path):
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            except OSError:
                continue
            words += lines[-3:]
        return " | ".join(words) or "no output"

    def _log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
