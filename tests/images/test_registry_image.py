"""The lab's registry image is a real registry: built from the Go module proxy, it takes a `docker push` from the
host's engine and serves the same image back to a `docker pull`, and its catalog lists what was pushed.

The slow test needs Docker and Go (it builds the image when its content tag is missing: minutes the first time).
Outside CI it skips without a Docker engine (the reason says how to start one); in CI (``CI=true``) it never
skips. Everything it makes is named ``lab-reg-test-...`` and removed at the end, whatever happened.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.request
import uuid

import pytest
import sh
import yaml
from invoke import Context

from lab import registry
from lab.config import LabConfig
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


def test_the_wrapper_links_the_filesystem_driver_the_config_uses_and_no_cloud_driver():
    main = (registry_image.WRAPPER_DIR / "main.go").read_text()
    drivers = re.findall(r'"github.com/distribution/distribution/v3/registry/storage/driver/([\w-]+)"', main)
    config = yaml.safe_load((registry_image.IMAGE_DIR / "config.yml").read_text())
    assert drivers == list(config["storage"].keys() & {"filesystem", "inmemory", "s3", "azure", "gcs"})
    assert "registry.RootCmd.Execute()" in main


def test_the_image_serves_the_config_the_lab_expects():
    """config.yml: filesystem storage where the Dockerfile's volume is, port 5000 (lab.registry.CONTAINER_PORT),
    no auth, deletes allowed."""
    config = yaml.safe_load((registry_image.IMAGE_DIR / "config.yml").read_text())
    assert config["storage"]["filesystem"]["rootdirectory"] == "/var/lib/registry"
    assert config["storage"]["delete"]["enabled"] is True
    assert config["http"]["addr"] == f":{registry.CONTAINER_PORT}"
    assert "auth" not in config
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


@pytest.mark.slow
def test_a_pushed_image_comes_back_the_same_and_the_catalog_lists_it(docker_engine):
    runner = Runner(Context(), echo=False)
    started = time.monotonic()
    tag = registry_image.ensure_image(runner)
    built_in = time.monotonic() - started
    size_mb = int(str(docker("image", "inspect", "--format", "{{.Size}}", tag)).strip()) / 1e6
    print(f"\nregistry image {tag}: {size_mb:.1f} MB, ready in {built_in:.1f}s")

    port = _free_port()
    # A cluster name of our own: the container is lab-reg-test-<hex>-registry, run by the lab's own code.
    cfg = LabConfig.from_mapping({"cluster": f"lab-reg-test-{uuid.uuid4().hex[:8]}",
                                  "images": {"registry": "local", "registry_port": port}})
    lab = Lab(cfg=cfg, runner=runner, kind=Kind("kind", cfg.cluster), kube=Kubectl("kubectl", cfg.kube_context),
              builders=ImageBuilders(registry=lambda r, **kw: tag))  # built above
    ref = f"localhost:{port}/lab-reg-test/busybox-like:1"
    try:
        print(f"{registry.container_name(cfg)}: {registry.start(lab)}")
        found = registry.inspect(runner, registry.container_name(cfg))
        assert found is not None and (found.running, found.ours, found.host_port, found.image) == (
            True, True, port, tag)
        assert "already running" in registry.start(lab)  # idempotent

        docker("tag", BASE_IMAGE, ref)
        pushed = _image_id(ref)
        docker("push", ref, _timeout=300)
        docker("rmi", ref)  # only the tag goes: the base image keeps the layers, the engine forgets the name
        assert str(docker("image", "ls", "--quiet", ref)).strip() == ""
        docker("pull", ref, _timeout=300)
        assert _image_id(ref) == pushed

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/_catalog", timeout=10) as response:
            listed = json.loads(response.read())
        print(f"catalog: {listed}")
        assert "lab-reg-test/busybox-like" in listed["repositories"]
        assert registry.catalog(port)["lab-reg-test/busybox-like"] == ["1"]
    finally:
        docker("rmi", ref, _ok_code=range(256))
        try:
            print(f"{registry.container_name(cfg)}: {registry.remove(lab)}")
        finally:  # whatever remove said, nothing of ours stays
            docker("rm", "--force", "--volumes", registry.container_name(cfg), _ok_code=range(256))
    assert registry.inspect(runner, registry.container_name(cfg)) is None
