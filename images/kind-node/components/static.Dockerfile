# One statically linked binary on an empty image, for the control-plane components, etcd and the
# storage provisioner: kubeadm and kind's manifests start them by name, so PATH must find them.
FROM scratch
ARG NAME
COPY ${NAME} /usr/local/bin/${NAME}
ENV PATH=/usr/local/bin:/usr/bin:/bin
