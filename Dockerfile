# Multi-stage build: DuckDB is linked statically through cgo, so the build
# stage needs a C toolchain; the runtime stage needs only glibc and CA roots.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/floe ./cmd/floe

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/floe --create-home floe
COPY --from=build /out/floe /usr/local/bin/floe
USER floe
WORKDIR /var/lib/floe
EXPOSE 5433 8080
ENTRYPOINT ["floe"]
CMD ["serve", "--data", "/var/lib/floe/data", "--pg-addr", "0.0.0.0:5433", "--http-addr", "0.0.0.0:8080"]
