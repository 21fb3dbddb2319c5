# shellcheck shell=bash
# The node part of scripts/k8s-control-plane.sh (`start DIR --with-node`), sourced by it: a real
# kubelet with containerd (CRI) and runc, CNI (bridge + host-local + loopback), kube-proxy
# (iptables) for Service IPs, kube-scheduler, and cluster DNS. Everything is Debian's or built from
# Debian's `kubernetes` source; docs/testing.md ("A real node") says what each piece is and why.
#
# Uses from the caller: $dir, $bin, say, die, spawn, alive, apt_install, free_ports.
#
# One node cluster per machine: kube-proxy's iptables chains, the CNI bridge and /var/log/pods are
# machine-wide. /run/emrex-k8s-node names the state folder of the one that runs.

NODE_NAME=emrex-node
NODE_LOCK=/run/emrex-k8s-node
POD_CIDR=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
BRIDGE=emrex0
# dnsmasq listens on the node address on this port; the kube-dns Service (53) forwards to it, so
# nothing of ours needs the host's port 53.
DNS_PORT=10053

sudo_cmd() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The node's address: the source address of the default route (what a kubelet picks), else the
# first global IPv4 address. Pods reach the API server and DNS there.
node_address() {
  local a
  a="$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)"
  [ -n "$a" ] || a="$(ip -4 -o addr show scope global | awk '{ split($4, p, "/"); print p[1]; exit }')"
  [ -n "$a" ] || die "no global IPv4 address for the node"
  echo "$a"
}

node_prerequisites() {
  [ "$(id -u)" = 0 ] || die "a node needs root (kubelet, containerd, iptables, mounts)"
  local need=()
  command -v containerd >/dev/null || need+=(containerd)
  command -v runc >/dev/null || need+=(runc)
  [ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
  command -v iptables >/dev/null || need+=(iptables)
  command -v conntrack >/dev/null || need+=(conntrack)
  command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
  command -v podman >/dev/null || need+=(podman)
  command -v socat >/dev/null || need+=(socat)
  [ "${#need[@]}" -eq 0 ] || apt_install "${need[@]}"
  local b
  for b in kube-scheduler kubelet kube-proxy pause; do
    [ -x "$bin/$b" ] || die "no $b in $bin: run '$0 build --with-node' first"
  done
  # Bridged Pod traffic must pass iptables (kube-proxy's rules), and the node routes Pod traffic.
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] \
    || die "the kernel has no br_netfilter (bridged Pod traffic would bypass kube-proxy): modprobe br_netfilter"
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1 >/dev/null
  if [ -f "$NODE_LOCK" ]; then
    local other
    other="$(cat "$NODE_LOCK")"
    if [ "$other" != "$dir" ] && [ -f "$other/pids" ]; then
      local p
      while read -r p; do
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && tr '\0' ' ' <"/proc/$p/cmdline" | grep -qF -- "$other"; then
          die "a node cluster already runs in $other (one per machine: stop it with '$0 stop $other')"
        fi
      done <"$other/pids"
    fi
  fi
  echo "$dir" >"$NODE_LOCK"
}

# The cluster CA, the API server's serving certificate (every name Pods and the host use for it),
# the API server's client certificate towards the kubelet, and the kubelet's serving certificate.
node_certificates() { # $1 = node address
  local ip="$1" pki="$dir/pki"
  mkdir -p "$pki"
  if [ ! -f "$pki/ca.crt" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=emrex-test-cluster-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  fi
  issue() { # name subject extensions
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
      -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
    printf '%s\n' "$3" >"$pki/$1.ext"
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
      -days 30 -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
  }
  issue apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,IP:$ip,IP:$KUBERNETES_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
  issue kubelet "/CN=$NODE_NAME" "subjectAltName=IP:$ip,DNS:$NODE_NAME
extendedKeyUsage=serverAuth"
}

# A kubeconfig for a host component, verifying the API server with the cluster CA.
node_kubeconfig() { # $1 = file, $2 = token, $3 = server
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: emrex-test
  cluster:
    server: $3
    certificate-authority: $dir/pki/ca.crt
users:
- name: component
  user:
    token: $2
contexts:
- name: emrex-test
  context:
    cluster: emrex-test
    user: component
current-context: emrex-test
EOF
}

node_wait() { # $1 = what, $2 = seconds, $3 = log name, rest = test command
  local what="$1" secs="$2" log="$3" i
  shift 3
  for ((i = 0; i < secs * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  [ -f "$dir/$log.log" ] && tail -30 "$dir/$log.log" >&2
  die "$what not ready after $secs s (log: $dir/$log.log)"
}

# containerd with the CRI plugin, runc, CNI; its state, images and sockets in $dir/containerd.
node_containerd() {
  local c="$dir/containerd" pause_tag
  pause_tag="$(cat "$bin/pause.version")"
  mkdir -p "$c" "$dir/cni/net.d" "$dir/cni/ipam"
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$c/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/emrex-pause:$pause_tag"
  netns_mounts_under_state_dir = true
  # Without CAP_SYS_RESOURCE (some VMs and containers drop it) nobody may lower an
  # oom_score_adj, and the kubelet asks -998 for sandboxes: clamp to containerd's own instead.
  restrict_oom_score_adj = $(node_restrict_oom)
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
EOF
  # CNI: a bridge with the node as the Pods' gateway, addresses from host-local, masquerade for
  # traffic leaving the Pod network, hairpin so a Pod reaches itself through its Service.
  # (containerd's CRI plugin sets up each sandbox's loopback with the loopback plugin itself.)
  cat >"$dir/cni/net.d/10-emrex.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "emrex",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$dir/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  say "starting containerd ($(containerd --version | awk '{print $3}'), socket $c/containerd.sock)"
  spawn containerd containerd --config "$c/config.toml"
  node_wait containerd 30 containerd ctr --address "$c/containerd.sock" version
  node_image_load "localhost/emrex-pause:$pause_tag" "$(node_pause_image "$pause_tag")"
  node_image_load "$TOOLBOX_IMAGE" "$(node_toolbox_image)"
}

# The Pod sandbox image, built locally from the pause binary compiled from Kubernetes' source.
node_pause_image() { # $1 = tag; prints the archive path
  local tag="$1" archive="$bin/emrex-pause-$1.tar" ctx
  if [ ! -f "$archive" ] || [ "$archive" -ot "$bin/pause" ]; then
    ctx="$(mktemp -d "${TMPDIR:-/tmp}/emrex-pause.XXXXXX")"
    cp "$bin/pause" "$ctx/pause"
    printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$ctx/Containerfile"
    podman build --quiet --network none --pull=never -t "localhost/emrex-pause:$tag" "$ctx" >&2 \
      || die "building the pause image failed"
    podman save --quiet --format docker-archive -o "$archive.tmp" "localhost/emrex-pause:$tag" \
      && mv -f "$archive.tmp" "$archive"
    rm -rf "$ctx"
  fi
  echo "$archive"
}

# A toolbox image for checks from inside the cluster (nslookup, wget, sh): Debian's static
# busybox, taken from its package without installing it.
TOOLBOX_IMAGE=localhost/emrex-toolbox:1
node_toolbox_image() { # prints the archive path
  local archive="$bin/emrex-toolbox.tar" ctx ver
  if [ ! -f "$archive" ]; then
    ctx="$(mktemp -d "${TMPDIR:-/tmp}/emrex-toolbox.XXXXXX")"
    ver="$(apt-cache policy busybox-static | awk '/Candidate:/ { print $2 }')"
    [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "no busybox-static package known to apt"
    (cd "$ctx" && apt-get -o APT::Sandbox::User="$(id -un)" download -qq "busybox-static=$ver" >&2) \
      || die "cannot download busybox-static=$ver"
    dpkg-deb -x "$ctx"/busybox-static_*.deb "$ctx/pkg"
    mkdir -p "$ctx/root/bin" "$ctx/root/tmp"
    cp "$ctx/pkg/bin/busybox" "$ctx/root/bin/busybox"
    chmod 1777 "$ctx/root/tmp"
    local a
    for a in sh nslookup wget cat echo sleep httpd ls; do ln -s busybox "$ctx/root/bin/$a"; done
    printf 'FROM scratch\nCOPY root/ /\nUSER 65532:65532\nENV PATH=/bin\nENTRYPOINT ["/bin/sh"]\n' >"$ctx/Containerfile"
    podman build --quiet --network none --pull=never -t "$TOOLBOX_IMAGE" "$ctx" >&2 \
      || die "building the toolbox image failed"
    podman save --quiet --format docker-archive -o "$archive.tmp" "$TOOLBOX_IMAGE" && mv -f "$archive.tmp" "$archive"
    rm -rf "$ctx"
  fi
  echo "$archive"
}

# "true" when this process lacks CAP_SYS_RESOURCE (bit 24 of CapEff).
node_restrict_oom() {
  local eff
  eff="$(awk '/^CapEff:/ { print $2 }' /proc/self/status)"
  if (( (16#$eff >> 24) & 1 )); then echo false; else echo true; fi
}

# Imports an image archive (docker-archive or OCI) into containerd's k8s.io namespace.
node_image_load() { # $1 = name (for the message), $2 = archive
  ctr --address "$dir/containerd/containerd.sock" -n k8s.io images import "$2" >/dev/null \
    || die "importing $1 into containerd failed"
  say "image $1 loaded into containerd"
}

# Cluster DNS: dnsmasq (Debian's) answering for cluster.local from a hosts file that a small
# watcher (scripts/k8s-dns-sync.py) keeps equal to the Services' ClusterIPs — the split of the
# original kube-dns (a watcher + dnsmasq). Other names go to the host's resolvers.
node_dns() { # $1 = node address, $2 = API server port
  local ip="$1" port="$2" d="$dir/dns" upstream=() u
  mkdir -p "$d"
  : >"$d/services.hosts"
  [ -f "$d/extra.hosts" ] || : >"$d/extra.hosts"
  while read -r u; do upstream+=("--server=$u"); done \
    < <(awk '$1 == "nameserver" && $2 !~ /^127\./ { print $2 }' /etc/resolv.conf)
  spawn dnsmasq dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
    --listen-address="$ip" --bind-interfaces --port="$DNS_PORT" --pid-file="$d/dnsmasq.pid" \
    --local=/cluster.local/ --domain-needed --cache-size=0 --user=root \
    --addn-hosts="$d/services.hosts" --addn-hosts="$d/extra.hosts" "${upstream[@]}" --log-facility=-
  local script_dir
  script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  spawn dns-sync python3 "$script_dir/k8s-dns-sync.py" --server "https://127.0.0.1:$port" \
    --ca "$dir/pki/ca.crt" --token-file "$dir/dns/token" --hosts "$d/services.hosts" \
    --extra "$d/extra.hosts" --dnsmasq-pid-file "$d/dnsmasq.pid" --domain cluster.local
  # The kube-dns Service: port 53 (UDP and TCP) forwarded by kube-proxy to dnsmasq on the node.
  kapply <<EOF
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
  "spec": {"clusterIP": "$DNS_SERVICE_IP", "ports": [{"name": "dns", "port": 53, "targetPort": $DNS_PORT, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "targetPort": $DNS_PORT, "protocol": "TCP"}]}},
 {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
  "subsets": [{"addresses": [{"ip": "$ip"}], "ports": [{"name": "dns", "port": $DNS_PORT, "protocol": "UDP"}, {"name": "dns-tcp", "port": $DNS_PORT, "protocol": "TCP"}]}]}
]}
EOF
}

# kubectl apply of JSON on stdin, as the admin.
kapply() {
  kubectl --kubeconfig "$dir/kubeconfig" apply -f - >/dev/null
}

node_start() { # $1 = node address, $2 = API server port
  local ip="$1" port="$2" ports
  mapfile -t ports < <(free_ports 5)
  local kubelet_port=${ports[0]} kubelet_healthz=${ports[1]} proxy_healthz=${ports[2]} sched_port=${ports[3]}
  local proxy_metrics=${ports[4]}
  local server="https://127.0.0.1:$port"
  node_kubeconfig "$dir/kubelet.kubeconfig" "$(cat "$dir/tokens/kubelet")" "$server"
  node_kubeconfig "$dir/proxy.kubeconfig" "$(cat "$dir/tokens/proxy")" "$server"
  node_kubeconfig "$dir/scheduler.kubeconfig" "$(cat "$dir/tokens/scheduler")" "$server"
  cp "$dir/tokens/dns" "$dir/dns/token" 2>/dev/null || { mkdir -p "$dir/dns"; cp "$dir/tokens/dns" "$dir/dns/token"; }

  node_containerd

  say "starting kube-scheduler"
  spawn kube-scheduler "$bin/kube-scheduler" --kubeconfig="$dir/scheduler.kubeconfig" \
    --authentication-kubeconfig="$dir/scheduler.kubeconfig" --authorization-kubeconfig="$dir/scheduler.kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port="$sched_port" --port=0 \
    --cert-dir="$dir/scheduler-certs"

  say "starting kubelet ($NODE_NAME at $ip)"
  mkdir -p "$dir/kubelet" "$dir/kubelet-plugins"
  cat >"$dir/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $ip
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz
tlsCertFile: $dir/pki/kubelet.crt
tlsPrivateKeyFile: $dir/pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $dir/pki/ca.crt}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
failSwapOn: false
podCIDR: $POD_CIDR
maxPods: 60
serializeImagePulls: false
# The disk is shared with builds: evict only when it is really full (100 MiB left).
evictionHard: {memory.available: "100Mi", nodefs.available: "100Mi", imagefs.available: "100Mi", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
volumePluginDir: $dir/kubelet-plugins
EOF
  spawn kubelet "$bin/kubelet" --config="$dir/kubelet-config.yaml" --kubeconfig="$dir/kubelet.kubeconfig" \
    --container-runtime=remote --container-runtime-endpoint="unix://$dir/containerd/containerd.sock" \
    --root-dir="$dir/kubelet" --cert-dir="$dir/kubelet-certs" --hostname-override="$NODE_NAME" \
    --node-ip="$ip" --v=1
  node_wait kubelet 60 kubelet curl -sf "http://127.0.0.1:$kubelet_healthz/healthz"

  say "starting kube-proxy (iptables)"
  # conntrack: leave the kernel's table size and timeouts alone (sysctls a VM may not allow).
  cat >"$dir/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $dir/proxy.kubeconfig}
hostnameOverride: $NODE_NAME
bindAddress: $ip
healthzBindAddress: 127.0.0.1:$proxy_healthz
metricsBindAddress: 127.0.0.1:$proxy_metrics
mode: iptables
clusterCIDR: $CLUSTER_CIDR
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
  spawn kube-proxy "$bin/kube-proxy" --config="$dir/kube-proxy-config.yaml"
  node_wait kube-proxy 60 kube-proxy curl -sf "http://127.0.0.1:$proxy_healthz/healthz"

  say "starting cluster DNS (dnsmasq on $ip:$DNS_PORT behind $DNS_SERVICE_IP:53)"
  node_dns "$ip" "$port"

  node_wait "node $NODE_NAME" 120 kubelet node_is_ready
  echo "$ip" >"$dir/node"
  say "node $NODE_NAME Ready ($ip; Pods $POD_CIDR, Services $SERVICE_CIDR, DNS $DNS_SERVICE_IP)"
}

node_is_ready() {
  kubectl --kubeconfig "$dir/kubeconfig" get node "$NODE_NAME" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True
}

# Tears the node down so nothing stays on the machine: the Pods go through the kubelet (which
# stops their sandboxes: CNI DEL, volumes unmounted); whatever is left is killed through
# containerd; then kube-proxy's rules, the bridge and any mount below $dir go.
# A subshell without errexit: every step is best effort, and one that finds nothing to do (a
# grep without a match) must not end the teardown.
node_stop() (
  set +e +o pipefail
  [ -f "$dir/node" ] || [ -d "$dir/containerd" ] || return 0
  local sock="$dir/containerd/containerd.sock" kc="$dir/kubeconfig" i p
  # No new Pods: stop the controllers and the scheduler first, then let the kubelet stop them.
  for p in $(node_pids kube-controller-manager kube-scheduler); do kill -TERM "$p" 2>/dev/null || true; done
  if [ -n "$(node_pids kubelet)" ] && [ -f "$kc" ]; then
    kubectl --kubeconfig "$kc" delete pods --all -A --grace-period=5 --wait=false >/dev/null 2>&1 || true
    for ((i = 0; i < 60; i++)); do
      [ -z "$(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  for p in $(node_pids kubelet kube-proxy dns-sync dnsmasq); do kill -TERM "$p" 2>/dev/null || true; done
  if [ -S "$sock" ]; then
    local t c
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true
    done
    sleep 0.5
    for t in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io tasks delete -f "$t" >/dev/null 2>&1 || true
    done
    for c in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
      ctr --address "$sock" -n k8s.io containers delete "$c" >/dev/null 2>&1 || true
    done
  fi
  "$bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  node_iptables_cleanup
  ip link delete "$BRIDGE" 2>/dev/null || true
  # Mounts below $dir (Pod volumes, sandbox network namespaces, container root file systems).
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r \
    | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  # The kubelet writes container logs to /var/log/pods (fixed path): remove our Pods' ones.
  local uid l
  for uid in "$dir"/kubelet/pods/*; do
    [ -d "$uid" ] && rm -rf /var/log/pods/*_"$(basename "$uid")"
  done
  for l in /var/log/containers/*.log; do
    [ -L "$l" ] && [ ! -e "$l" ] && rm -f "$l"
  done
  # The images and containers' file systems (the component logs in $dir stay).
  rm -rf "$dir/containerd/root" "$dir/containerd/state" "$dir/kubelet"
  [ "$(cat "$NODE_LOCK" 2>/dev/null)" = "$dir" ] && rm -f "$NODE_LOCK"
  rm -f "$dir/node"
  return 0
)

# What kube-proxy --cleanup leaves: the kubelet's own chains (KUBE-FIREWALL, KUBE-MARK-*,
# canaries) and the CNI bridge's masquerade chains of our network ("name: \"emrex\"").
node_iptables_cleanup() (
  set +e +o pipefail
  local t r c chains
  for t in filter nat mangle; do
    chains="$(iptables-save -t "$t" 2>/dev/null | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p')"
    chains+=" $(iptables-save -t "$t" 2>/dev/null | grep -- '-A POSTROUTING' | grep -F 'name: \"emrex\"' \
      | sed -n 's/.* -j \(CNI-[^ ]*\).*/\1/p')"
    # Jumps from the built-in chains first, then the chains themselves.
    iptables-save -t "$t" 2>/dev/null \
      | grep -E -- '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) ' \
      | grep -E -- "-j ($(echo $chains | tr ' ' '|'))( |\$)" | sed 's/^-A /-D /' \
      | while read -r r; do eval "iptables -t $t $r" 2>/dev/null || true; done
    for c in $chains; do iptables -t "$t" -F "$c" 2>/dev/null || true; done
    for c in $chains; do iptables -t "$t" -X "$c" 2>/dev/null || true; done
  done
  return 0
)

node_pids() { # names -> pids of ours still alive (spawn logged "name pid" in $dir/names)
  local n p name
  [ -f "$dir/names" ] || return 0
  while read -r name p; do
    for n in "$@"; do [ "$name" = "$n" ] && alive "$p" && echo "$p"; done
  done <"$dir/names"
}
