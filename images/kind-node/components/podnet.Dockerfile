# The lab's pod network daemon (see podnet.sh), run by kind's default CNI manifest in place of kindnetd.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl jq ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*
COPY podnet.sh /usr/local/bin/podnet
RUN chmod 0755 /usr/local/bin/podnet
CMD ["/usr/local/bin/podnet"]
