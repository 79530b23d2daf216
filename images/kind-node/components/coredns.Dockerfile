# kubeadm's CoreDNS Deployment passes only args (-conf /etc/coredns/Corefile), so the entrypoint must
# be /coredns. It runs as root: the pod adds NET_BIND_SERVICE, which lets root bind :53, while the
# upstream image's non-root user needs a file capability this builder cannot set.
FROM scratch
COPY coredns /coredns
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
