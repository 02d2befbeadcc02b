"""Devices off the interlock's machine connect over TLS (docs/interlock.md, "Authenticated
devices"): the shipped configuration with its loopback listener replaced by a TLS one, the
interlock and a device given the CA (--broker-ca), a floor reading stopped across it."""

from __future__ import annotations

import datetime
import ipaddress
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cryoderm.interlock.broker_config import CONFIG_FILE, start_local_broker
from cryoderm.interlock.errors import BrokerRefused, BrokerUnavailable
from cryoderm.interlock.model import Reading
from cryoderm.interlock.mqtt import BrokerLogin, MqttDeviceLink

from .helpers import Recorder
from .process import read_ready, start_interlock, start_session, stop_process

pytestmark = pytest.mark.slow


def _certificate(subject: str, key, issuer_key, issuer_name, *, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_certificates(directory: Path) -> dict[str, Path]:
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _certificate("cryoderm test CA", ca_key, ca_key, None, ca=True)
    server = _certificate("127.0.0.1", server_key, ca_key, ca.subject, ca=False)
    paths = {name: directory / f"{name}.pem" for name in ("ca", "server", "server-key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["server"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["server-key"].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    for path in paths.values():
        path.chmod(0o644)  # the broker runs as user mosquitto; this key guards a test only
    return paths


def test_the_interlock_and_a_device_talk_over_tls_with_the_brokers_ca(tmp_path, secure_broker):
    store = secure_broker.store
    shipped = secure_broker.broker.directory / CONFIG_FILE
    tls_dir = secure_broker.broker.directory / "tls"
    tls_dir.mkdir()
    certificates = make_certificates(tls_dir)
    plain = next(line for line in shipped.read_text().splitlines() if line.startswith("listener "))
    config = shipped.read_text().replace(
        plain,
        f"listener {{port}} 127.0.0.1\ncafile {certificates['ca']}\n"
        f"certfile {certificates['server']}\nkeyfile {certificates['server-key']}\n"
        "tls_version tlsv1.2",
    )
    broker = start_local_broker(secure_broker.broker.directory / "tls-broker", config)
    issued = store.add("dev-t")
    broker.reload()
    journal_dir, ready = tmp_path / "journal", tmp_path / "ready.json"
    process = start_interlock(
        journal_dir,
        *("--source", "mqtt", "--broker", broker.address, "--broker-ca", str(certificates["ca"])),
        *("--ready-file", str(ready)),
        credentials=store,
    )
    link = None
    try:
        read_ready(ready)
        with pytest.raises((BrokerRefused, BrokerUnavailable)):  # plain MQTT is not spoken
            MqttDeviceLink(
                broker.host,
                broker.port,
                interlock_key=store.public_key(),
                login=BrokerLogin("dev-t", issued.token),
                connect_timeout_s=2.0,
            )
        link = MqttDeviceLink(
            broker.host,
            broker.port,
            interlock_key=store.public_key(),
            login=BrokerLogin("dev-t", issued.token, certificates["ca"]),
        )
        device = Recorder("dev-t")
        link.attach(device)
        start_session(journal_dir, "s-tls", "dev-t", modality="cold-air")
        link.publish_reading(Reading("dev-t", 1, 30.0, time.time()))
        link.publish_reading(Reading("dev-t", 2, 1.0, time.time()))
        assert device.stopped.wait(10.0)
        # Signed heartbeats over TLS, verified (one every 0.25 s; the stop may come first).
        deadline = time.monotonic() + 10.0
        while device.heartbeats == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert device.heartbeats > 0
    finally:
        if link is not None:
            link.close()
        stop_process(process)
        broker.stop()
