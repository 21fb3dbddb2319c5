#!/usr/bin/env bash
# A real Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager 1.20.2) on
# loopback, for the operator tests. No registry here ships those binaries, so they are built once
# from Debian bookworm's `kubernetes` source package (docs/testing.md, "Kubernetes control plane")
# and cached outside the clone. There is no scheduler and no kubelet: pods never run.
#
#   k8s-control-plane.sh build       build (or find) the binaries in $EMREX_CACHE_DIR/k8s/bin
#   k8s-control-plane.sh start DIR   start the control plane with its state and logs in DIR; prints
#                                    `export KUBECONFIG=DIR/kubeconfig` as its last stdout line
#   k8s-control-plane.sh stop DIR    stop what DIR/pids lists (TERM, then KILL after 5 s)
#
#   EMREX_CACHE_DIR      cache root (default ~/.cache/emrex-rs); binaries in k8s/bin under it
#   EMREX_SKIP_INSTALL=1 never install anything (fail instead when something is missing)
#   EMREX_K8S_WATCH_PID  (start) stop the control plane once this process has exited
#
# All three commands are idempotent: `start` on a DIR whose control plane answers only prints the
# export line again, `stop` on a stopped DIR does nothing.
set -euo pipefail

cache="${EMREX_CACHE_DIR:-$HOME/.cache/emrex-rs}/k8s"
bin="$cache/bin"
token="admin-token"

say() { printf 'k8s: %s\n' "$*" >&2; }
die() { printf 'k8s: error: %s\n' "$*" >&2; exit 1; }

apt_install() {
  if [ "${EMREX_SKIP_INSTALL:-0}" = 1 ]; then
    die "missing Debian packages: $* (EMREX_SKIP_INSTALL=1, not installing)"
  fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing Debian packages: $*"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_etcd() {
  command -v etcd >/dev/null || apt_install etcd-server
}

# The binaries a command needs: the control plane's, plus the node's with --with-node.
CONTROL_PLANE_BINS=(kube-apiserver kube-controller-manager)
NODE_BINS=(kube-scheduler kubelet kube-proxy pause)

missing_bins() { # $@ = names; prints those not cached
  local b
  for b in "$@"; do [ -x "$bin/$b" ] || echo "$b"; done
}

cmd_build() { # [--with-node]
  ensure_etcd
  local want=("${CONTROL_PLANE_BINS[@]}")
  [ "${1:-}" = --with-node ] && want+=("${NODE_BINS[@]}")
  local missing
  mapfile -t missing < <(missing_bins "${want[@]}")
  if [ "${#missing[@]}" -eq 0 ]; then
    say "binaries cached in $bin ($("$bin/kube-apiserver" --version 2>/dev/null || echo '?'))"
    return 0
  fi
  say "building ${missing[*]} (1.20.2) from Debian source (~4 min cold per control-plane pair on idle cores)"
  local need=()
  command -v go >/dev/null || need+=(golang-go)
  command -v rsync >/dev/null || need+=(rsync)
  command -v dpkg-source >/dev/null || need+=(dpkg-dev)
  command -v make >/dev/null || need+=(make)
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  [ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ] || need+=(golang-github-modern-go-reflect2-dev)
  local update=0
  if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ /etc/apt/sources.list \
     && ! grep -qs '^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list; then
    if [ "${EMREX_SKIP_INSTALL:-0}" = 1 ]; then
      die "no deb-src apt source for the kubernetes source package (EMREX_SKIP_INSTALL=1)"
    fi
    say "adding a bookworm deb-src apt source"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      | $sudo tee /etc/apt/sources.list.d/debsrc.sources >/dev/null
    update=1
  fi
  if [ "${#need[@]}" -gt 0 ]; then
    apt_install "${need[@]}"
  elif [ "$update" = 1 ]; then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >&2; else sudo apt-get update -qq >&2; fi
  fi

  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/emrex-k8s-build.XXXXXX")"
  # shellcheck disable=SC2064  # expand $work now
  trap "rm -rf '$work'" EXIT
  say "fetching the kubernetes source package into $work"
  (cd "$work" && apt-get source -qq --download-only kubernetes >&2 && dpkg-source -x ./*.dsc k8s >/dev/null)
  local src="$work/k8s"
  say "source: $(head -1 "$src/debian/changelog")"

  say "replacing the vendored reflect2 v1.0.1 (crashes under Go >= 1.18) with Debian's v1.0.2"
  rm -rf "$src/vendor/github.com/modern-go/reflect2"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$src/vendor/github.com/modern-go/reflect2"
  rm -f "$src/vendor/github.com/modern-go/reflect2/go.mod" "$src"/vendor/github.com/modern-go/reflect2/*_test.go
  sed -i 's#modern-go/reflect2 v1.0.1$#modern-go/reflect2 v1.0.2#' "$src/go.mod"
  sed -i 's#=> github.com/modern-go/reflect2 v1.0.1#=> github.com/modern-go/reflect2 v1.0.2#' "$src/vendor/modules.txt"

  local what=() b
  for b in "${missing[@]}"; do [ "$b" = pause ] || what+=("cmd/$b"); done
  mkdir -p "$bin"
  local start=$SECONDS
  if [ "${#what[@]}" -gt 0 ]; then
    say "go build ${what[*]} ($(go version | awk '{print $3}')), output in $src/build.log"
    mkdir -p "$src/.go/src/k8s.io"
    ln -sfn ../../.. "$src/.go/src/k8s.io/kubernetes"
    if ! (cd "$src" && GOPATH="$src/.go" GOCACHE="$work/go-cache" CGO_ENABLED=0 \
          make WHAT="${what[*]}" >"$src/build.log" 2>&1); then
      tail -40 "$src/build.log" >&2
      die "build failed"
    fi
    for b in "${what[@]}"; do
      b="${b#cmd/}"
      cp "$src/_output/bin/$b" "$bin/.$b.tmp"
      mv -f "$bin/.$b.tmp" "$bin/$b"
    done
  fi
  if [[ " ${missing[*]} " == *" pause "* ]]; then
    # The Pod sandbox's process (what the registry's "pause" image runs), from the same source:
    # a static C program that sleeps and reaps zombies.
    local tag
    tag="$(sed -n 's/^TAG[ ?:]*= *//p' "$src/build/pause/Makefile" | head -1)"
    [ -n "$tag" ] || die "no TAG in build/pause/Makefile"
    gcc -Os -static -Wall -Werror -DVERSION="$tag" -o "$bin/.pause.tmp" "$src/build/pause/linux/pause.c" \
      || die "compiling pause.c failed"
    strip "$bin/.pause.tmp"
    echo "$tag" >"$bin/pause.version"
    mv -f "$bin/.pause.tmp" "$bin/pause"
  fi
  say "built in $((SECONDS - start)) s"
  rm -rf "$work"
  trap - EXIT
  say "binaries in $bin ($("$bin/kube-apiserver" --version))"
}

# N free loopback TCP ports, one per line (all bound at once, so they differ).
free_ports() {
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

api_ok() { # $1 = url path; the apiserver's port is in $dir/port
  local port
  port="$(cat "$dir/port" 2>/dev/null)" || return 1
  curl -sfk --max-time 3 -H "Authorization: Bearer $token" "https://127.0.0.1:$port$1" >/dev/null 2>&1
}

alive() { # $1 = pid; true when it runs and is one of ours (its command line names $dir)
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$dir"
}

still_starting() { # $1 = pid; `alive`, for a daemon `spawn` started a moment ago
  # Right after `spawn` the process may be inside execve (setsid, then the daemon), when its
  # /proc cmdline reads empty and `alive` says no; asking again a moment later tells that apart
  # from a process that exited. Without this, a check right after the start under load reported
  # "kube-controller-manager exited" with an empty log while it was starting.
  local i
  for ((i = 0; i < 10; i++)); do
    alive "$1" && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# Start a daemon detached from our stdout/stderr (callers capture those) with its log in $dir.
spawn() { # $1 = name, rest = command
  local name="$1"; shift
  setsid "$@" </dev/null >"$dir/$name.log" 2>&1 9>&- &
  echo "$!" >>"$dir/pids"
  echo "$name $!" >>"$dir/names"
}

# shellcheck source=scripts/k8s-node.sh
. "$(dirname "${BASH_SOURCE[0]}")/k8s-node.sh"

cmd_start() { # DIR [--with-node]
  dir="$(mkdir -p "$1" && cd "$1" && pwd)"
  local with_node=""
  [ "${2:-}" = --with-node ] && with_node=1
  exec 9>"$dir/.lock"
  flock 9
  if [ -f "$dir/kubeconfig" ] && api_ok /readyz; then
    if [ -n "$with_node" ] && [ ! -f "$dir/node" ]; then
      die "a control plane without a node runs in $dir: stop it first ('$0 stop $dir')"
    fi
    say "already running ($dir)"
    echo "export KUBECONFIG=$dir/kubeconfig"
    return 0
  fi
  cmd_stop "$dir" 2>/dev/null || true
  [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] \
    || die "no binaries in $bin: run '$0 build' first"
  ensure_etcd
  command -v openssl >/dev/null || apt_install openssl
  local node_ip="" bind=127.0.0.1
  if [ -n "$with_node" ]; then
    node_prerequisites
    node_ip="$(node_address)"
    # Pods reach the API server through the `kubernetes` Service, which points at this address.
    bind=0.0.0.0
  fi

  local ports etcd_port peer_port api_port kcm_port
  mapfile -t ports < <(free_ports 4)
  etcd_port=${ports[0]} peer_port=${ports[1]} api_port=${ports[2]} kcm_port=${ports[3]}
  rm -rf "$dir/etcd"
  : >"$dir/pids"
  : >"$dir/names"
  echo "$api_port" >"$dir/port"
  [ -f "$dir/sa.key" ] || openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  echo "$token,admin,admin,system:masters" >"$dir/tokens.csv"
  local trust="insecure-skip-tls-verify: true"
  local node_api_args=() node_kcm_args=()
  if [ -n "$with_node" ]; then
    node_certificates "$node_ip"
    trust="certificate-authority: $dir/pki/ca.crt"
    # The node's components authenticate with their own tokens, as the identities the default
    # RBAC (and the Node authorizer) knows: kubelet system:node:NAME in system:nodes,
    # system:kube-proxy, system:kube-scheduler; the DNS watcher only lists Services.
    mkdir -p "$dir/tokens"
    local t
    for t in kubelet proxy scheduler dns; do
      [ -f "$dir/tokens/$t" ] || openssl rand -hex 16 >"$dir/tokens/$t"
    done
    {
      echo "$(cat "$dir/tokens/kubelet"),system:node:$NODE_NAME,node,system:nodes"
      echo "$(cat "$dir/tokens/proxy"),system:kube-proxy,kube-proxy"
      echo "$(cat "$dir/tokens/scheduler"),system:kube-scheduler,kube-scheduler"
      echo "$(cat "$dir/tokens/dns"),emrex:cluster-dns,cluster-dns"
    } >>"$dir/tokens.csv"
    node_api_args=(--advertise-address="$node_ip" --tls-cert-file="$dir/pki/apiserver.crt"
      --tls-private-key-file="$dir/pki/apiserver.key" --client-ca-file="$dir/pki/ca.crt"
      --kubelet-client-certificate="$dir/pki/apiserver-kubelet-client.crt"
      --kubelet-client-key="$dir/pki/apiserver-kubelet-client.key"
      --kubelet-preferred-address-types=InternalIP --enable-admission-plugins=NodeRestriction
      --allow-privileged=true)
    # Service account token Secrets carry the cluster CA (ca.crt) for in-cluster clients.
    node_kcm_args=(--root-ca-file="$dir/pki/ca.crt" --cluster-cidr="$CLUSTER_CIDR")
  fi
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: emrex-test
  cluster:
    server: https://127.0.0.1:$api_port
    $trust
users:
- name: admin
  user:
    token: $token
contexts:
- name: emrex-test
  context:
    cluster: emrex-test
    user: admin
    namespace: default
current-context: emrex-test
EOF

  say "starting etcd on 127.0.0.1:$etcd_port"
  spawn etcd etcd --name emrex-test --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "emrex-test=http://127.0.0.1:$peer_port"
  say "starting kube-apiserver on https://$bind:$api_port"
  local authz=RBAC
  [ -n "$with_node" ] && authz=Node,RBAC
  spawn kube-apiserver "$bin/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" \
    --secure-port="$api_port" --bind-address="$bind" --cert-dir="$dir/certs" \
    --token-auth-file="$dir/tokens.csv" --authorization-mode="$authz" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$dir/sa.key" --service-account-signing-key-file="$dir/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 "${node_api_args[@]}"
  local i
  for ((i = 0; i < 120; i++)); do
    api_ok /readyz && break
    still_starting "$(sed -n 2p "$dir/pids")" || { tail -30 "$dir/kube-apiserver.log" >&2; die "kube-apiserver exited (log: $dir/kube-apiserver.log)"; }
    sleep 0.5
  done
  api_ok /readyz || { tail -30 "$dir/kube-apiserver.log" >&2; die "kube-apiserver not ready after 60 s (log: $dir/kube-apiserver.log)"; }

  say "starting kube-controller-manager (health on 127.0.0.1:$kcm_port)"
  spawn kube-controller-manager "$bin/kube-controller-manager" --kubeconfig="$dir/kubeconfig" \
    --authentication-kubeconfig="$dir/kubeconfig" --authorization-kubeconfig="$dir/kubeconfig" \
    --service-account-private-key-file="$dir/sa.key" --controllers='*,-nodeipam' \
    --bind-address=127.0.0.1 --secure-port="$kcm_port" --port=0 --leader-elect=false \
    --cert-dir="$dir/kcm-certs" "${node_kcm_args[@]}"
  for ((i = 0; i < 60; i++)); do
    curl -sfk --max-time 3 "https://127.0.0.1:$kcm_port/healthz" >/dev/null 2>&1 && break
    still_starting "$(sed -n 3p "$dir/pids")" || { tail -30 "$dir/kube-controller-manager.log" >&2; die "kube-controller-manager exited"; }
    sleep 0.5
  done

  if [ -n "$with_node" ]; then
    # The DNS watcher may list and watch Services, nothing else.
    kapply <<EOF
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "emrex:cluster-dns"},
  "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]}]},
 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "emrex:cluster-dns"},
  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "emrex:cluster-dns"},
  "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "emrex:cluster-dns"}]}
]}
EOF
    node_start "$node_ip" "$api_port"
  fi

  if [ -n "${EMREX_K8S_WATCH_PID:-}" ]; then
    # Best effort cleanup when the test process dies without calling stop.
    local self watch="$EMREX_K8S_WATCH_PID"
    self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; exec bash "$2" stop "$3"' \
      watcher "$watch" "$self" "$dir" </dev/null >>"$dir/watcher.log" 2>&1 9>&- &
  fi
  say "ready: $("$bin/kube-apiserver" --version) at https://127.0.0.1:$api_port (state in $dir)"
  echo "export KUBECONFIG=$dir/kubeconfig"
}

cmd_stop() {
  dir="$(cd "$1" 2>/dev/null && pwd)" || return 0
  [ -f "$dir/pids" ] || return 0
  node_stop
  local pids=() p i
  while read -r p; do alive "$p" && pids+=("$p"); done <"$dir/pids"
  if [ "${#pids[@]}" -gt 0 ]; then
    say "stopping ${pids[*]} ($dir)"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      local left=()
      for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
      [ "${#left[@]}" -eq 0 ] && break
      sleep 0.1
    done
    for p in "${pids[@]}"; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
  fi
  rm -f "$dir/pids"
  rm -rf "$dir/etcd"
}

case "${1:-}" in
  build) [ $# -le 2 ] || die "usage: $0 build [--with-node]"; cmd_build "${2:-}" ;;
  start) [ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$3" = --with-node ]; } || die "usage: $0 start DIR [--with-node]"
         cmd_start "$2" "${3:-}" ;;
  load-image) [ $# -eq 3 ] || die "usage: $0 load-image DIR ARCHIVE"
              dir="$(cd "$2" && pwd)"; [ -f "$dir/node" ] || die "no node runs in $dir"; node_image_load "$3" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; cmd_stop "$2" ;;
  *) die "usage: $0 build [--with-node] | start DIR [--with-node] | stop DIR | load-image DIR ARCHIVE" ;;
esac
