"""nginx, where it is installed, with a self-signed certificate where deploy/'s site looks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SITE = Path(__file__).parents[2] / "deploy" / "nginx" / "site.conf"


def nginx_binary() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    return binary


def nginx_prefix(folder: Path) -> Path:
    """`folder` as nginx's prefix: the site's relative tls/ paths resolve inside it."""
    (folder / "tls").mkdir()
    (folder / "logs").mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(folder / "tls" / "privkey.pem"),
         "-out", str(folder / "tls" / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return folder


def nginx_conf(folder: Path, site: str) -> Path:
    """An nginx.conf in `folder` serving `site` (the user nginx's workers run as reads it)."""
    (folder / "site.conf").write_text(site)
    conf = folder / "nginx.conf"
    conf.write_text(
        ("user root;\n" if _is_root() else "")
        + f"pid {folder}/nginx.pid;\nerror_log {folder}/logs/error.log;\nevents {{}}\n"
        + f"http {{\n  access_log off;\n  include {folder}/site.conf;\n}}\n"
    )
    return conf


def _is_root() -> bool:
    import os

    return os.geteuid() == 0
