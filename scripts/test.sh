#!/usr/bin/env bash
# The project's test command (README): installs what the tests need when it is missing, then runs
# formatting and lint checks and every test of the workspace. Safe to run again and again.
#
#   EMREX_CACHE_DIR   where build output is cached, outside the clone (default ~/.cache/emrex-rs);
#                     it is created when missing and never required to exist.
#   EMREX_SKIP_INSTALL=1  do not install anything (fail instead when a tool is missing).
#
#   --node   also run the tests that need a real node (scripts/node-test.sh: kubelet, containerd,
#            the alliance federation in Pods; needs root, docs/testing.md "A real node")
set -euo pipefail
cd "$(dirname "$0")/.."

with_node=""
case "${1:-}" in
  "") ;;
  --node) with_node=1 ;;
  *) echo "usage: $0 [--node]" >&2; exit 2 ;;
esac

log() { printf '\n==> %s\n' "$*"; }

need_apt=()
command -v xmlsec1 >/dev/null || need_apt+=(xmlsec1)
command -v xmllint >/dev/null || need_apt+=(libxml2-utils)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
# PDF oracles for the NCP's transcript (qpdf --check, pdftotext, pdfdetach).
command -v qpdf >/dev/null || need_apt+=(qpdf)
command -v pdftotext >/dev/null || need_apt+=(poppler-utils)
# Apache Santuario (the XML-Signature library of the Java peers) and a JDK to compile its harness.
[ -f /usr/share/java/xmlsec.jar ] || need_apt+=(libxml-security-java)
command -v javac >/dev/null || need_apt+=(default-jdk-headless)
# The browser tests: Debian's Chromium driven by Node's playwright-core (never a downloaded browser).
command -v chromium >/dev/null || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
# The chart and example tests apply objects to the local API server with kubectl.
command -v kubectl >/dev/null || need_apt+=(kubernetes-client)
# The container image (scripts/image.sh) and the tests that run it: Debian's podman with runc;
# objcopy splits the binary's debug info off.
command -v podman >/dev/null || need_apt+=(podman)
command -v runc >/dev/null || need_apt+=(runc)
command -v objcopy >/dev/null || need_apt+=(binutils)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "${EMREX_SKIP_INSTALL:-0}" = 1 ]; then echo "missing: ${need_apt[*]}" >&2; exit 1; fi
  log "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# helm-python-sdk: the Helm engine (Helm v4's Go SDK, no helm binary) that renders and lints
# charts/emrex in tests/chart/render.py. pyld: the JSON-LD processor that expands the ELM credentials
# (services/elm/tests/jsonld.rs).
if ! python3 -c 'import signxml, lxml, jsonschema, helm_python, pyld' 2>/dev/null; then
  if [ "${EMREX_SKIP_INSTALL:-0}" = 1 ]; then echo "missing: python signxml/lxml/jsonschema/helm-python-sdk/pyld" >&2; exit 1; fi
  log "installing Python packages: signxml lxml jsonschema helm-python-sdk pyld"
  python3 -m pip install --quiet --disable-pip-version-check signxml lxml jsonschema 'helm-python-sdk>=0.2.2,<0.3' 'pyld>=2.0.4,<4' \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages signxml lxml jsonschema 'helm-python-sdk>=0.2.2,<0.3' 'pyld>=2.0.4,<4'
fi

# What this script starts for the tests is stopped when they are done, however they end.
pg_started=""
k8s_state=""
cleanup() {
  if [ -n "$pg_started" ]; then
    EMREX_PG_STOP=1 bash scripts/postgres-test-db.sh >/dev/null 2>&1 || true
  fi
  if [ -n "$k8s_state" ]; then
    bash scripts/k8s-control-plane.sh stop "$k8s_state" >/dev/null 2>&1 || true
    rm -rf "$k8s_state"
  fi
}
trap cleanup EXIT

# A real PostgreSQL for the registry store tests (installed and started when missing; a private
# cluster on loopback). An already given EMREX_TEST_POSTGRES_URL is used as it is.
if [ -z "${EMREX_TEST_POSTGRES_URL:-}" ]; then
  log "PostgreSQL for the store tests"
  eval "$(bash scripts/postgres-test-db.sh)"
  pg_started=1
fi
export EMREX_TEST_POSTGRES_URL EMREX_TEST_POSTGRES_CA

# Kubernetes control plane for the operator tests: etcd + kube-apiserver + kube-controller-manager
# 1.20.2, built once from Debian's source and cached in $EMREX_CACHE_DIR/k8s/bin (~4 min cold).
# The tests start it on first use in EMREX_K8S_STATE_DIR (shared by all test binaries, stopped at
# exit). An already given KUBECONFIG (kind, k3d, a real cluster) is used as it is.
if [ -z "${KUBECONFIG:-}" ]; then
  log "Kubernetes control plane for the operator tests"
  bash scripts/k8s-control-plane.sh build
  k8s_state="$(mktemp -d "${TMPDIR:-/tmp}/emrex-k8s-state.XXXXXX")"
  export EMREX_K8S_STATE_DIR="$k8s_state"
fi

cache="${EMREX_CACHE_DIR:-$HOME/.cache/emrex-rs}"
if mkdir -p "$cache/target" 2>/dev/null; then
  export CARGO_TARGET_DIR="$cache/target"
fi
# Two cores: keep the test binaries from fighting the compiler for them.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# Incremental state helps editing, not a test run, and grew the shared cache by tens of GB (the
# disk filled up once): off unless the caller wants it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

log "versions"
cargo --version; rustc --version
xmlsec1 --version; xmllint --version 2>&1 | sed -n 1p
echo "Santuario: $(cd /usr/share/java && ls xmlsec-[0-9]*.jar)"; javac -version 2>&1
python3 -c 'import signxml, lxml.etree as e; print("signxml", signxml.__version__ if hasattr(signxml, "__version__") else "?", "lxml", e.__version__)'
python3 -c 'import helm_python as h; print("helm-python-sdk", h.__version__, "(Helm SDK", h.helm_sdk_version() + ")")'
kubectl version --client 2>/dev/null | sed -n 1p || true

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The image the operator runs, built from this checkout without any registry, on a base of
# Debian's packages (docs/deploy.md); the image tests (services/emrex/tests/image.rs) run it with
# podman. Here it carries the dev-profile binary the tests compile anyway: the release `image`
# profile (fat LTO, one codegen unit; 38.4 MB image) takes 25-60 min cold on two cores, which
# does not fit CI's hour. Its size goal is checked by `scripts/image.sh && cargo test -p emrex
# --test image`; the image test prints that it skipped it here.
log "container image (scripts/image.sh, dev-profile binary)"
EMREX_IMAGE_PROFILE="${EMREX_IMAGE_PROFILE:-dev}" bash scripts/image.sh

log "cargo test"
# A failing test must not end the script here (set -e with pipefail would): the summary and the
# node tests still run, and the exit status says that something failed.
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "${TMPDIR:-/tmp}/emrex-test.log"
status=${PIPESTATUS[0]}
set -e

log "summary"
grep -E '^test result:' "${TMPDIR:-/tmp}/emrex-test.log" | awk '
  { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1); if ($i ~ /^ignored;?$/) s += $(i-1) } }
  END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'

if [ "${EMREX_IMAGE_PROFILE:-dev}" != image ]; then
  echo "skipped: the image's 40 MB size goal (the image here carries the dev-profile binary; the"
  echo "  release image's fat-LTO build does not fit CI's hour): scripts/image.sh && cargo test -p emrex --test image"
fi
if [ -n "$with_node" ]; then
  bash scripts/node-test.sh || status=1
else
  echo "skipped: the node tests (tests/tests/k8s_node.rs, services/emrex/tests/node_federation.rs:"
  echo "  Pods on a real kubelet, the alliance federation in Chromium) need root and the machine's"
  echo "  one node; run them with: scripts/test.sh --node (or scripts/node-test.sh)"
fi
exit "$status"
