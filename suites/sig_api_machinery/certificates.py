"""A throw-away CA and a serving certificate for an in-cluster webhook, made with openssl."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from kconformance.process import run


@dataclass
class ServingCert:
    ca: bytes
    cert: bytes
    key: bytes

    @staticmethod
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()


def make_serving_cert(folder: Path, dns_name: str) -> ServingCert:
    def openssl(*args: str) -> None:
        run(["openssl", *args], timeout=60)

    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt = folder / "tls.key", folder / "tls.csr", folder / "tls.crt"
    ext = folder / "ext.cnf"
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=kconformance-test-ca",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_crt),
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={dns_name}",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    ext.write_text(f"subjectAltName=DNS:{dns_name}\nextendedKeyUsage=serverAuth\n")
    openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca_crt),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        str(ext),
        "-out",
        str(crt),
    )
    return ServingCert(ca_crt.read_bytes(), crt.read_bytes(), key.read_bytes())
