# The operator image: a static binary on an empty base, running as non-root (the
# same image hack/images.sh writes without a Docker daemon; docs/images.md).
# The binary is built by `make build`, the same command developers and CI use.
# `make check-dockerfile` (part of `make test`) builds this stage from exactly the
# files this build context holds, without Docker.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY Makefile VERSION ./
COPY hack/version.sh hack/
COPY api/ api/
COPY cmd/ cmd/
COPY config/crd/ config/crd/
COPY internal/ internal/
RUN mkdir -p /workspace/tmp && GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} make build LOCALBIN=/workspace/bin

FROM scratch
COPY --from=builder /workspace/bin/manager /manager
# The metrics server writes its self-signed certificate under /tmp (the chart
# mounts an emptyDir there too).
COPY --from=builder --chown=65532:65532 /workspace/tmp /tmp
USER 65532:65532
ENTRYPOINT ["/manager"]
