"""Who may use the lab's registry: one generated login, kept on the host, never printed.

The registry container (lab/registry.py) checks every request against an htpasswd file of one bcrypt entry
(images/registry/config.yml). The lab generates the login the first time it starts the registry, as it
generates Cassandra's passwords (lab/auth.py: 144 random bits, URL-safe), and keeps it in a folder of its own
under .cache (``folder``), mode 700, outside the state dir (which CI keeps as an artifact):

- ``password``: the password, mode 600, read back by every later task;
- ``htpasswd``: the registry's file (user and bcrypt hash), mounted read-only into the container;
- ``docker/``: the Docker client configuration the lab's ``docker login`` and ``docker push`` use (DOCKER_CONFIG),
  so the login lands there and your ~/.docker is never touched.

The nodes pull with the same login: deploy applies it as an imagePullSecret (``pull_secret``) in the lab's
namespace, which the kubelet hands to containerd with each pull (hosts.toml cannot carry credentials).
The password goes to ``docker login`` and ``kubectl apply`` on their standard input, never on a command line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt

from lab import files, manifests

#: The one user of the registry's htpasswd file.
USER = "lab"
#: The Secret (kubernetes.io/dockerconfigjson) in the lab's namespace that pods pulling from the registry name.
PULL_SECRET = "lab-registry-login"
#: Where the registry reads the htpasswd file (images/registry/config.yml, auth.htpasswd.path).
HTPASSWD_IN_CONTAINER = "/auth/htpasswd"
#: bcrypt's work factor. The registry checks the hash on every request (a push or a pull is dozens of them), and
#: the password is 144 random bits, which no work factor needs to protect against guessing. Measured here (2
#: cores, busy): one check takes 20 ms at 8, 81 ms at 10, and would take about 4 times that at bcrypt's default 12.
ROUNDS = 8


@dataclass(frozen=True)
class Credentials:
    """The registry's login; ``repr`` never shows the password."""

    user: str
    password: str = field(repr=False)


def password_file(folder: Path) -> Path:
    return folder / "password"


def htpasswd_file(folder: Path) -> Path:
    return folder / "htpasswd"


def docker_config_dir(folder: Path) -> Path:
    return folder / "docker"


def htpasswd_line(credentials: Credentials) -> str:
    """``user:$2b$...``: the htpasswd entry distribution's registry accepts (bcrypt only)."""
    hashed = bcrypt.hashpw(credentials.password.encode(), bcrypt.gensalt(rounds=ROUNDS)).decode()
    return f"{credentials.user}:{hashed}\n"


def read(folder: Path) -> Credentials | None:
    """The login kept in ``folder``, or None when the lab has not generated one there."""
    path = password_file(folder)
    if not path.is_file():
        return None
    return Credentials(USER, path.read_text().strip())


def ensure(folder: Path) -> Credentials:
    """The login in ``folder``, generated with its htpasswd file the first time (an htpasswd file that went
    missing is written again from the kept password)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    credentials = read(folder)
    if credentials is None:
        credentials = Credentials(USER, secrets.token_urlsafe(24))
        files.write_new(password_file(folder), credentials.password + "\n", 0o600)
        htpasswd_file(folder).unlink(missing_ok=True)
    if not htpasswd_file(folder).is_file():
        # 644: the registry runs as nobody and reads it through the bind mount; the folder above stays 700.
        files.write_new(htpasswd_file(folder), htpasswd_line(credentials), 0o644)
    return credentials


def htpasswd_checksum(folder: Path) -> str:
    """A short digest of the htpasswd file (of a salted hash: nothing to learn the password from), labelled on the
    container so that a login generated anew replaces a container started with the old one."""
    path = htpasswd_file(folder)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else ""


def docker_env(folder: Path) -> dict[str, str]:
    """The environment of the lab's ``docker login`` and ``docker push``: its own client configuration."""
    return {"DOCKER_CONFIG": str(docker_config_dir(folder))}


def dockerconfigjson(host: str, credentials: Credentials) -> str:
    """A Docker client configuration with the login for ``host``: the pull Secret's content."""
    token = base64.b64encode(f"{credentials.user}:{credentials.password}".encode()).decode()
    return json.dumps({"auths": {host: {"username": credentials.user, "password": credentials.password,
                                        "auth": token}}})


def pull_secret(namespace: str, host: str, credentials: Credentials) -> dict[str, Any]:
    """The imagePullSecret the kubelet uses for images of ``host``."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": PULL_SECRET, "namespace": namespace},
            "data": {".dockerconfigjson": base64.b64encode(dockerconfigjson(host, credentials).encode()).decode()}}


def with_pull_secret(docs: list[dict[str, Any]], host: str) -> list[dict[str, Any]]:
    """``docs`` (a copy) whose workloads with a container image of ``host`` name PULL_SECRET in imagePullSecrets."""
    docs = manifests.render(docs)  # a copy
    for doc in docs:
        if doc.get("kind") not in manifests.WORKLOAD_KINDS:
            continue
        if not any(str(c.get("image", "")).startswith(host + "/") for c in manifests.containers(doc, init=True)):
            continue
        spec = doc.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
        named = list(spec.get("imagePullSecrets") or [])
        if {"name": PULL_SECRET} not in named:
            named.append({"name": PULL_SECRET})
        spec["imagePullSecrets"] = named
    return docs
