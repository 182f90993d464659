# Shared helpers for the project's scripts. Every step is idempotent: it checks first and only
# installs or starts what is missing, at the pinned version.
# shellcheck shell=bash

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Pinned tool versions (see docs/development.md).
CARGO_LEPTOS_VERSION="0.3.5"
BINARYEN_NPM_VERSION="132.0.0"
PLAYWRIGHT_VERSION="1.65.1"

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Debian puts some daemons (nginx) in the sbin directories, which a minimal
# PATH such as a CI runner's may leave out.
for dir in /usr/local/sbin /usr/sbin /sbin; do
  case ":$PATH:" in *":$dir:"*) ;; *) PATH="$PATH:$dir" ;; esac
done
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} yourself"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "installing ${missing[*]} (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_rust_tools() {
  command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
  # rust-toolchain.toml pins the compiler and adds the wasm32 target.
  rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
  rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

  if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION"; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (several minutes on 2 cores, once)"
    # Its own release profile asks for fat LTO in one codegen unit, which alone made it the
    # longest step of a cold start; the tool only drives the build, so it is built without.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  local wb
  wb="$(wasm_bindgen_version)"
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb"; then
    log "installing wasm-bindgen-cli $wb (about 2–5 minutes, once)"
    # Not --locked: its lockfile pins a webpki-roots release the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$wb" --force
  fi
  if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_NPM_VERSION%%.*}"; then
    command -v npm >/dev/null || die "npm not found (needed for wasm-opt from the binaryen package)"
    log "installing wasm-opt (npm binaryen@$BINARYEN_NPM_VERSION)"
    # Never Debian's binaryen: its old wasm-opt produces a bundle that fails to hydrate.
    as_root npm install -g --silent "binaryen@$BINARYEN_NPM_VERSION" >/dev/null || npm install -g --silent "binaryen@$BINARYEN_NPM_VERSION" >/dev/null
  fi
  if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install cargo-nextest --locked
  fi
}

ensure_e2e_tools() {
  if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
    apt_install chromium
  fi
  if [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] || [ ! -d "$ROOT/end2end/node_modules/axe-core" ] || \
     ! grep -q "\"version\": \"$PLAYWRIGHT_VERSION\"" "$ROOT/end2end/node_modules/@playwright/test/package.json" 2>/dev/null; then
    log "installing the Playwright test runner (npm ci; no browser download)"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  fi
}

# Lighthouse (npm) for the benchmark harness, in a directory of its own; driven against
# Debian's Chromium. Prints the path of its CLI, or fails.
LIGHTHOUSE_VERSION="12.8.2"
LIGHTHOUSE_DIR="${LIGHTHOUSE_DIR:-$HOME/.cache/gamestore/lighthouse}"
ensure_lighthouse() {
  local cli="$LIGHTHOUSE_DIR/node_modules/lighthouse/cli/index.js"
  if ! grep -q "\"version\": \"$LIGHTHOUSE_VERSION\"" "$LIGHTHOUSE_DIR/node_modules/lighthouse/package.json" 2>/dev/null; then
    log "installing Lighthouse $LIGHTHOUSE_VERSION (npm) into $LIGHTHOUSE_DIR"
    mkdir -p "$LIGHTHOUSE_DIR"
    (cd "$LIGHTHOUSE_DIR" && { [ -f package.json ] || echo '{"private":true}' >package.json; } \
      && npm install --no-audit --no-fund --silent "lighthouse@$LIGHTHOUSE_VERSION") >&2 || return 1
  fi
  [ -x /usr/bin/chromium ] || [ -n "${CHROMIUM_PATH:-}" ] || apt_install chromium >&2 || return 1
  echo "$cli"
}

# A real SMTP server for the email tests: PyPI's aiosmtpd in a venv of its own. The tests find
# its Python through MAIL_SINK_PYTHON.
AIOSMTPD_VERSION="1.4.6"
MAIL_SINK_VENV="${MAIL_SINK_VENV:-$HOME/.cache/gamestore/mailsink}"
ensure_mail_sink() {
  if ! "$MAIL_SINK_VENV/bin/python" -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    log "installing aiosmtpd $AIOSMTPD_VERSION (PyPI) into $MAIL_SINK_VENV"
    python3 -m venv "$MAIL_SINK_VENV"
    "$MAIL_SINK_VENV/bin/pip" install --quiet "aiosmtpd==$AIOSMTPD_VERSION"
  fi
  export MAIL_SINK_PYTHON="$MAIL_SINK_VENV/bin/python"
}

PG_ADMIN_URL="${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
REDIS_URL_DEFAULT="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_ready() { redis-cli -u "$REDIS_URL_DEFAULT" ping 2>/dev/null | grep -q PONG; }

# Starts (installing if needed) PostgreSQL and Redis on loopback. Returns non-zero if either
# could not be made reachable.
ensure_services() {
  if ! pg_ready; then
    if ! command -v pg_ctlcluster >/dev/null; then
      apt_install postgresql || return 1
    fi
    local cluster
    cluster="$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 { print $1 " " $2 }')"
    if [ -n "$cluster" ]; then
      log "starting PostgreSQL ($cluster)"
      # shellcheck disable=SC2086
      as_root pg_ctlcluster $cluster start || true
    fi
    for _ in $(seq 1 30); do pg_ready && break; sleep 0.5; done
    pg_ready || return 1
  fi
  # The tests connect as postgres/postgres over TCP.
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -tAc 'select 1' >/dev/null 2>&1; then
    log "setting the local postgres user's password for the tests"
    as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres';\"" >/dev/null || return 1
  fi
  if ! redis_ready; then
    command -v redis-server >/dev/null || apt_install redis-server || return 1
    log "starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis_ready && break; sleep 0.2; done
    redis_ready || return 1
  fi
  return 0
}

drop_test_databases() {
  PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -tAc \
    "select 'DROP DATABASE IF EXISTS \"' || datname || '\";' from pg_database where datname like 'gs_test_%'" 2>/dev/null \
    | PGPASSWORD=postgres psql -q -h 127.0.0.1 -U postgres >/dev/null 2>&1 || true
}

# Prints the release bundle's sizes, raw and gzipped.
report_bundle_size() {
  local pkg="$ROOT/target/site/pkg"
  for f in "$pkg/gamestore.wasm" "$pkg/gamestore.js" "$pkg/gamestore.css"; do
    [ -f "$f" ] || continue
    printf '  %-16s %8s bytes raw, %8s bytes gzipped\n' "$(basename "$f")" "$(wc -c <"$f")" "$(gzip -9c "$f" | wc -c)" >&2
  done
}

# The release build of the payment simulator, with the server's feature set and RUSTFLAGS so the
# dependencies cargo-leptos just built are reused rather than rebuilt.
build_paysim_release() {
  RUSTFLAGS="--cfg erase_components" cargo build --release -p server -p paysim --bin paysim
}
