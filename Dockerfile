# The writer image: `python -m writer` on Debian's Python 3.11, as a non-root user, read-only-rootfs friendly.
#
#   docker build .                                 # with internet: dependencies come from PyPI
#   python -m lab.images.writer                    # here: wheels resolved on the host, no PyPI in the build
#
# BASE_IMAGE lets the lab build FROM its locally made Debian base (no registry on these machines).
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS deps
# The build leaves this stage behind as an untagged image: the label lets `invoke clean` find it.
LABEL cassandra-kind-lab.stage=writer-deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY writer/requirements.txt /tmp/requirements.txt
# build/writer-wheels holds wheels that lab/images/writer.py downloaded on the host. The [s] makes it an
# optional wildcard (requirements.txt is a second source so the COPY never has zero files): a fresh clone
# has no such folder and installs from PyPI instead.
COPY writer/requirements.txt build/writer-wheel[s] /wheels/
RUN python3 -m venv /opt/writer \
 && if ls /wheels/*.whl >/dev/null 2>&1; then \
        /opt/writer/bin/pip install --no-cache-dir --no-index --find-links /wheels -r /tmp/requirements.txt; \
    else \
        /opt/writer/bin/pip install --no-cache-dir -r /tmp/requirements.txt; \
    fi \
 # pip is not needed at run time; dropping it saves ~15 MB
 && /opt/writer/bin/pip uninstall -y pip \
 && find /opt/writer -name '*.pyc' -delete
COPY writer/ /app/writer/
# Byte-compile now: a read-only root filesystem cannot take __pycache__ later (and startup is faster).
RUN rm -f /app/writer/requirements.txt \
 && /opt/writer/bin/python -m compileall -q /app/writer /opt/writer/lib

FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-minimal libpython3.11-stdlib \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
 && python3 -m compileall -q /usr/lib/python3.11
COPY --from=deps /opt/writer /opt/writer
COPY --from=deps /app /app
ENV PATH=/opt/writer/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# A numeric uid (no /etc/passwd entry needed) lets Kubernetes' runAsNonRoot verify it.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["python", "-m", "writer"]
