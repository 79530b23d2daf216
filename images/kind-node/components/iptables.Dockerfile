# Shared base of the host-network images that program iptables (kube-proxy, kindnet):
# Debian's iptables and conntrack, with a wrapper that matches the node's backend on first use.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables conntrack iproute2 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*
COPY iptables-wrapper /usr/sbin/iptables-wrapper
RUN chmod 0755 /usr/sbin/iptables-wrapper \
    && for name in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do \
         ln -sf iptables-wrapper "/usr/sbin/${name}"; \
       done
