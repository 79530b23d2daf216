# kube-proxy runs privileged in the host network and execs iptables, ip6tables and conntrack; the
# DaemonSet kubeadm writes calls /usr/local/bin/kube-proxy by its absolute path.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY kube-proxy /usr/local/bin/kube-proxy
