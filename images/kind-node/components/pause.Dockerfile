# The pod sandbox image named by kind's containerd config (sandbox_image).
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
