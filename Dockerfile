# syntax=docker/dockerfile:1
#
# The game store image: the `server` binary (axum + Leptos SSR), the hydration bundle it serves
# (target/site) and the `paysim` payment simulator binary. One image, two entry points:
#
#   docker build -t gamestore .
#   docker run -p 3000:3000 -v gamestore-data:/app/data -e PUBLIC_URL=http://localhost:3000 gamestore
#   docker run gamestore /app/paysim                 # the simulator (compose.yaml does this)
#
# The build stage installs exactly the tools and pins scripts/lib.sh installs (see
# docs/development.md), from the ordinary package registries only: crates.io (cargo install),
# npm (binaryen's wasm-opt) and Debian (nodejs/npm). Never Debian's `binaryen` package: its
# wasm-opt builds a release bundle that silently fails to hydrate.
#
# No Docker engine runs on the project's machines, so this file is reviewed, not built, there;
# scripts/topology runs the same binaries with the same environment natively and
# scripts/test-topology tests it (docs/operations.md).

ARG RUST_IMAGE=rust:1.95.0-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# Tools: changes rarely, so it is its own cached stage (about 20–25 minutes cold on 2 cores).
FROM ${RUST_IMAGE} AS tools

# Pins, as in scripts/lib.sh.
ARG CARGO_LEPTOS_VERSION=0.3.5
ARG BINARYEN_NPM_VERSION=132.0.0

ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0 \
    CARGO_NET_RETRY=5

# Node + npm only to install wasm-opt from npm's binaryen package (a WebAssembly build that runs
# on Node; bookworm's Node 18 runs it).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g --no-audit --no-fund "binaryen@${BINARYEN_NPM_VERSION}" \
 && npm cache clean --force \
 && wasm-opt --version

WORKDIR /src

# rust-toolchain.toml pins the compiler (1.95.0) and adds the wasm32 target.
COPY rust-toolchain.toml ./
RUN rustup toolchain install \
 && rustup target add wasm32-unknown-unknown \
 && rustc --version

RUN cargo install cargo-leptos --locked --version "${CARGO_LEPTOS_VERSION}" \
 && rm -rf /usr/local/cargo/registry /usr/local/cargo/git \
 && cargo leptos --version

# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock exactly. Not --locked:
# its own lockfile pins a webpki-roots release the registry no longer serves.
COPY Cargo.lock ./
RUN WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)" \
 && test -n "${WASM_BINDGEN_VERSION}" \
 && cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" \
 && rm -rf /usr/local/cargo/registry /usr/local/cargo/git \
 && wasm-bindgen --version | grep -q " ${WASM_BINDGEN_VERSION}"

# ---------------------------------------------------------------------------------------------
# Build: the release bundle exactly as scripts/run and scripts/test build it.
FROM tools AS build

COPY . .

# The cargo registry and target/ are BuildKit cache mounts (fast rebuilds), so the artefacts are
# copied out to /out inside the same step.
RUN --mount=type=cache,id=gamestore-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=gamestore-cargo-git,target=/usr/local/cargo/git \
    --mount=type=cache,id=gamestore-target,target=/src/target,sharing=locked \
    cargo leptos build --release --precompress \
 && RUSTFLAGS="--cfg erase_components" cargo build --release --locked -p server -p paysim --bin paysim \
 && mkdir -p /out \
 && cp target/release/server target/release/paysim /out/ \
 && cp -R target/site /out/site \
 && test -f /out/site/pkg/gamestore.wasm

# ---------------------------------------------------------------------------------------------
# Runtime: Debian slim, non-root, only the two binaries and the site.
FROM ${RUNTIME_IMAGE} AS runtime

# ca-certificates: TLS to a real payment provider; curl: the HEALTHCHECK (a few hundred KB).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 gamestore \
 && useradd --system --uid 10001 --gid gamestore --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin gamestore \
 && mkdir -p /app/data \
 && chown gamestore:gamestore /app/data

WORKDIR /app

COPY --from=build --chown=root:root /out/server /out/paysim /app/
COPY --from=build --chown=root:root /out/site /app/site

# Leptos settings the binary needs at run time (cargo-leptos sets these during development).
# The embedded-mode SQLite default, sqlite://data/store.db, resolves to /app/data/store.db:
# mount a volume there. Everything else is configuration: see .env.example.
ENV LEPTOS_OUTPUT_NAME=gamestore \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_ENV=PROD \
    METRICS_ADDR=0.0.0.0:9100

USER 10001:10001
# 3000: the store; 9100: /metrics, for the scraper on the internal network only.
EXPOSE 3000 9100

# Liveness only (the process answers). Readiness (/readyz: database + cache) is what a load
# balancer or orchestrator should route on; compose.yaml uses it for start-up ordering.
# The port follows LEPTOS_SITE_ADDR.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${LEPTOS_SITE_ADDR##*:}/healthz" || exit 1

# The server drains in-flight requests and closes sockets on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["/app/server"]
