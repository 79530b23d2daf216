# kube-router as the pod network's NetworkPolicy controller only (--run-firewall; podnet routes, kube-proxy
# serves Services): it turns each policy into iptables chains and ipsets on every node. On the iptables base,
# whose wrapper matches the node's backend, plus ipset.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ipset \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*
COPY kube-router /usr/local/bin/kube-router
ENTRYPOINT ["/usr/local/bin/kube-router"]
