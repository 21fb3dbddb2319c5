#!/usr/bin/env bash
# The tests that need a real node (docs/testing.md, "A real node"): Kubernetes with a kubelet,
# containerd, CNI, kube-proxy, a scheduler and cluster DNS on this machine, running the `emrex`
# image. `scripts/test.sh --node` runs this after everything else; run it alone when the image is
# built (scripts/image.sh).
#
#   EMREX_CACHE_DIR       cache root (default ~/.cache/emrex-rs): the node binaries in k8s/bin
#   EMREX_SKIP_INSTALL=1  never install anything (fail instead)
#
# Needs root (kubelet, containerd, iptables, mounts). One node per machine: it refuses to start
# while another one runs. Everything it starts is stopped at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "node-test.sh: the node needs root" >&2; exit 1; }

need_apt=()
command -v containerd >/dev/null || need_apt+=(containerd)
command -v runc >/dev/null || need_apt+=(runc)
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
command -v iptables >/dev/null || need_apt+=(iptables)
command -v conntrack >/dev/null || need_apt+=(conntrack)
command -v dnsmasq >/dev/null || need_apt+=(dnsmasq-base)
command -v nginx >/dev/null || need_apt+=(nginx-light)
command -v certutil >/dev/null || need_apt+=(libnss3-tools)
command -v podman >/dev/null || need_apt+=(podman)
command -v kubectl >/dev/null || need_apt+=(kubernetes-client)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "${EMREX_SKIP_INSTALL:-0}" = 1 ]; then echo "missing: ${need_apt[*]}" >&2; exit 1; fi
  log "installing Debian packages: ${need_apt[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need_apt[@]}" >/dev/null
fi

cache="${EMREX_CACHE_DIR:-$HOME/.cache/emrex-rs}"
if [ -z "${CARGO_TARGET_DIR:-}" ] && mkdir -p "$cache/target" 2>/dev/null; then
  export CARGO_TARGET_DIR="$cache/target"
fi
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

log "node binaries (kubelet, kube-proxy, kube-scheduler, pause; cached in $cache/k8s/bin)"
start=$SECONDS
bash scripts/k8s-control-plane.sh build --with-node
echo "node binaries: $((SECONDS - start)) s"

state="$(mktemp -d "${TMPDIR:-/tmp}/emrex-k8s-node.XXXXXX")"
cleanup() {
  bash scripts/k8s-control-plane.sh stop "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
export EMREX_K8S_NODE_STATE_DIR="$state"
# The node tests use their own cluster; never a KUBECONFIG from the caller's environment.
unset KUBECONFIG

log "the node tests"
start=$SECONDS
status=0
cargo test --locked -p emrex-tests --test k8s_node -- --ignored --nocapture 2>&1 \
  | tee "${TMPDIR:-/tmp}/emrex-node-test.log" || status=1
cargo test --locked -p emrex --test node_federation -- --ignored --nocapture 2>&1 \
  | tee -a "${TMPDIR:-/tmp}/emrex-node-test.log" || status=1
echo "node tests: $((SECONDS - start)) s"
grep -E '^test result:' "${TMPDIR:-/tmp}/emrex-node-test.log" | awk '
  { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
  END { printf "node tests: %d passed, %d failed\n", p, f }'
exit "$status"
