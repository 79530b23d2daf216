"""The lab's registry image is a real registry: built from the Go module proxy, it takes a `docker push` from the
host's engine and serves the same image back to a `docker pull`, and its catalog lists what was pushed; it refuses
anyone without the lab's login, deletes nothing, and a tag pushed over after the lab's push is not what deploy
renders.

The slow test needs Docker and Go (it builds the image when its content tag is missing: minutes the first time).
Outside CI it skips without a Docker engine (the reason says how to start one); in CI (``CI=true``) it never
skips. Everything it makes is named ``lab-reg-test-...`` and removed at the end, whatever happened.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.request
import uuid

import pytest
import sh
import yaml
from invoke import Context

from lab import registry, registry_auth, state, workflow
from lab.config import ROOT, LabConfig
from lab.context import Lab
from lab.images import golang
from lab.images import registry as registry_image
from lab.images.builders import ImageBuilders
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.runner import Runner


def docker(*args: str, **call_args):
    """``docker ARGS`` through sh, found on PATH when called: the module loads (and the fast tests run) where
    Docker is missing."""
    return sh.Command("docker")(*args, _tty_out=False, **call_args)


#: The local image pushed and pulled back: present wherever the lab builds images (the Dockerfiles' base).
BASE_IMAGE = "debian:bookworm-slim"


# -- the recipe, without Docker -----------------------------------------------------------------------------------

def test_image_tag_is_content_addressed():
    tag = registry_image.image_tag()
    assert re.fullmatch(r"lab-registry:[0-9a-f]{12}", tag)
    assert registry_image.image_tag() == tag


def test_the_registry_is_built_statically_from_its_pinned_release():
    argv = registry_image.go_build_args()
    assert argv[:5] == ["go", "-C", str(registry_image.WRAPPER_DIR), "build", "-trimpath"]
    assert argv[argv.index("-o") + 1] == str(registry_image.BINARY)
    assert "-X github.com/distribution/distribution/v3/version.version=v3.1.2" in argv[argv.index("-ldflags") + 1]
    assert golang.go_env()["CGO_ENABLED"] == "0"  # no libc in an image FROM scratch
    # The wrapper module pins the same release the tag names, and its go.sum has the release's hashes.
    pinned = f"{registry_image.MODULE} {registry_image.VERSION}"
    assert f"\nrequire {pinned}\n" in (registry_image.WRAPPER_DIR / "go.mod").read_text()
    assert f"{pinned} h1:" in (registry_image.WRAPPER_DIR / "go.sum").read_text()


def test_the_wrapper_links_the_filesystem_driver_and_the_htpasswd_controller_the_config_uses_and_nothing_else():
    main = (registry_image.WRAPPER_DIR / "main.go").read_text()
    drivers = re.findall(r'"github.com/distribution/distribution/v3/registry/storage/driver/([\w-]+)"', main)
    controllers = re.findall(r'"github.com/distribution/distribution/v3/registry/auth/([\w-]+)"', main)
    config = yaml.safe_load((registry_image.IMAGE_DIR / "config.yml").read_text())
    assert drivers == list(config["storage"].keys() & {"filesystem", "inmemory", "s3", "azure", "gcs"})
    assert controllers == list(config["auth"].keys()) == ["htpasswd"]
    assert "registry.RootCmd.Execute()" in main


def test_the_image_serves_the_config_the_lab_expects():
    """config.yml: filesystem storage where the Dockerfile's volume is, port 5000 (lab.registry.CONTAINER_PORT),
    every request logged in against the htpasswd file the lab mounts, no deletes."""
    config = yaml.safe_load((registry_image.IMAGE_DIR / "config.yml").read_text())
    assert config["storage"]["filesystem"]["rootdirectory"] == "/var/lib/registry"
    assert config["storage"]["delete"]["enabled"] is False
    assert config["http"]["addr"] == f":{registry.CONTAINER_PORT}"
    assert config["auth"]["htpasswd"]["path"] == registry_auth.HTPASSWD_IN_CONTAINER
    dockerfile = (registry_image.IMAGE_DIR / "Dockerfile").read_text()
    assert "FROM scratch" in dockerfile and 'VOLUME ["/var/lib/registry"]' in dockerfile


# -- the image, for real --------------------------------------------------------------------------------------------

def _free_port() -> int:
    """A port nothing listens on right now, on the loopback address the registry publishes to."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _image_id(ref: str) -> str:
    return str(docker("image", "inspect", "--format", "{{.Id}}", ref)).strip()


@pytest.fixture
def lab_registry(docker_engine, tmp_path):
    """The lab's registry, run by the lab's own code from a project in ``tmp_path`` (its login, generated there, goes
    with it) under a cluster name of its own (lab-reg-test-<hex>-registry); removed at the end, whatever happened."""
    runner = Runner(Context(), echo=False)
    started = time.monotonic()
    tag = registry_image.ensure_image(runner)
    built_in = time.monotonic() - started
    size_mb = int(str(docker("image", "inspect", "--format", "{{.Size}}", tag)).strip()) / 1e6
    print(f"\nregistry image {tag}: {size_mb:.1f} MB, ready in {built_in:.1f}s")
    for name in ("writer.yml", "cassandra.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    port = _free_port()
    cfg = LabConfig.from_mapping({"cluster": f"lab-reg-test-{uuid.uuid4().hex[:8]}",
                                  "images": {"registry": "local", "registry_port": port}}, root=tmp_path)
    lab = Lab(cfg=cfg, runner=runner, kind=Kind("kind", cfg.cluster), kube=Kubectl("kubectl", cfg.kube_context),
              builders=ImageBuilders(registry=lambda r, **kw: tag))  # built above
    try:
        print(f"{registry.container_name(cfg)}: {registry.start(lab)}")
        yield lab
    finally:
        try:
            print(f"{registry.container_name(cfg)}: {registry.remove(lab)}")
        finally:  # whatever remove said, nothing of ours stays
            docker("rm", "--force", "--volumes", registry.container_name(cfg), _ok_code=range(256))
        for ref in str(docker("images", "--format", "{{.Repository}}:{{.Tag}}", f"localhost:{port}/*")).split():
            docker("rmi", ref, _ok_code=range(256))  # names only: the images keep their other names
    assert registry.inspect(runner, registry.container_name(cfg)) is None


def _lab_docker(lab: Lab):
    """``docker`` with the lab's client configuration (its login to the registry), as the lab's pushes run."""
    def run(*args: str, **call_args):
        env = {**os.environ, **registry.client_env(lab.runner, registry.auth_folder(lab.cfg))}
        return docker(*args, _env=env, **call_args)
    return run


def _get(url: str, *, method: str = "GET", login: registry_auth.Credentials | None = None,
         accept: str = "") -> tuple[int, dict[str, str]]:
    """The registry API's status and headers for ``url``, anonymous or with ``login``."""
    request = urllib.request.Request(url, method=method)
    if login is not None:
        token = base64.b64encode(f"{login.user}:{login.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


@pytest.mark.slow
def test_a_pushed_image_comes_back_the_same_and_the_catalog_lists_it(lab_registry):
    lab = lab_registry
    runner, cfg, port = lab.runner, lab.cfg, lab.cfg.images.registry_port
    found = registry.inspect(runner, registry.container_name(cfg))
    assert found is not None and (found.running, found.ours, found.host_port, found.image) == (
        True, True, port, lab.builders.registry(runner))
    assert "already running" in registry.start(lab)  # idempotent
    local = f"lab-reg-test-{uuid.uuid4().hex[:8]}/busybox-like:1"
    docker("tag", BASE_IMAGE, local)
    try:
        registry.push(lab, local)  # logs in and pushes, as build does
    finally:
        docker("rmi", local)
    ref = f"localhost:{port}/busybox-like:1"
    pushed = _image_id(ref)
    docker("rmi", ref)  # only the tag goes: the base image keeps the layers, the engine forgets the name
    assert str(docker("image", "ls", "--quiet", ref)).strip() == ""
    _lab_docker(lab)("pull", ref, _timeout=300)
    assert _image_id(ref) == pushed
    listed = registry.catalog(port, credentials=registry_auth.read(registry.auth_folder(cfg)))
    print(f"catalog: {listed}")
    assert listed["busybox-like"] == ["1"]


@pytest.mark.slow
def test_only_the_labs_login_pushes_and_a_tag_pushed_over_is_not_what_deploy_renders(lab_registry, tmp_path):
    lab = lab_registry
    cfg, port = lab.cfg, lab.cfg.images.registry_port
    base = f"http://127.0.0.1:{port}/v2"
    credentials = registry_auth.read(registry.auth_folder(cfg))
    assert credentials is not None
    # Anonymous: the API asks for the login, and a push with no login (an empty client configuration) is refused.
    assert _get(f"{base}/_catalog")[0] == 401
    anonymous = tmp_path / "anonymous-docker"
    anonymous.mkdir()
    name = f"lab-reg-test-writer-{uuid.uuid4().hex[:8]}"
    docker("tag", BASE_IMAGE, f"{name}:1")
    try:
        docker("tag", BASE_IMAGE, f"localhost:{port}/{name}:1")
        refused = docker("push", f"localhost:{port}/{name}:1", _env={**os.environ, "DOCKER_CONFIG": str(anonymous)},
                         _ok_code=range(256), _err_to_out=True, _return_cmd=True)
        print(f"anonymous push: exit {refused.exit_code}: {str(refused).strip().splitlines()[-1]}")
        assert refused.exit_code != 0 and re.search(r"no basic auth credentials|unauthorized", str(refused))
        assert registry.catalog(port, credentials=credentials) == {}

        # The lab's push (build's path): the digest it returned is what deploy renders.
        ref = workflow._push(lab, f"{name}:1", key="writer_image")
        digest = state.get(lab.state_dir, f"digest {ref}")
        assert ref == f"localhost:{port}/{name}:1" and digest and digest.startswith("sha256:")
        rendered = yaml.safe_load_all(workflow.render_writer(lab).read_text())
        deployment = next(doc for doc in rendered if doc.get("kind") == "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        assert pod["containers"][0]["image"] == f"localhost:{port}/{name}@{digest}"
        assert pod["imagePullSecrets"] == [{"name": registry_auth.PULL_SECRET}]

        # Behind the lab's back (with a login that could push): another image under the same tag.
        as_lab = _lab_docker(lab)
        docker("tag", lab.builders.registry(lab.runner), ref)
        as_lab("push", ref, _timeout=300)
        manifest = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"
        status, headers = _get(f"{base}/{name}/manifests/1", method="HEAD", login=credentials, accept=manifest)
        assert status == 200 and headers["Docker-Content-Digest"] != digest  # the tag now names the other image
        rendered = yaml.safe_load_all(workflow.render_writer(lab).read_text())
        image = next(doc for doc in rendered if doc.get("kind") == "Deployment")["spec"]["template"]["spec"][
            "containers"][0]["image"]
        assert image == f"localhost:{port}/{name}@{digest}"
        print(f"tag {ref} now {headers['Docker-Content-Digest']}; deploy still renders {image}")
        # ... and that reference is still the original image, which the registry cannot delete.
        assert _get(f"{base}/{name}/manifests/{digest}", method="DELETE", login=credentials)[0] == 405
        docker("rmi", ref)
        as_lab("pull", image, _timeout=300)
        assert _image_id(image) == _image_id(BASE_IMAGE)
    finally:
        docker("rmi", f"{name}:1", _ok_code=range(256))
        docker("rmi", f"localhost:{port}/{name}@{state.get(lab.state_dir, f'digest localhost:{port}/{name}:1')}",
               _ok_code=range(256))
