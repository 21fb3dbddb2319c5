#!/usr/bin/env bash
# scripts/bench-rss.sh EMREX-BINARY: resident memory (VmRSS, MiB) of each service started idle on
# loopback — `emrex emreg`, `emrex signer`, `emrex ncp --dev`, `emrex smp --dev` as separate
# processes and `emrex dev` (the whole federation in one process) — read from /proc after the
# service has been up for a few seconds with no traffic. Prints `rss NAME MIB` per service that
# started, and `failed NAME …` with the end of its log for one that did not. Used by
# scripts/bench.sh (figure rss_mib_max_service); loopback only, every process stopped at the end.
set -uo pipefail

bin=${1:?usage: $0 EMREX-BINARY}
settle=${EMREX_RSS_SETTLE_SECONDS:-4}
dir=$(mktemp -d /tmp/emrex-rss.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$dir"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts NAME with ARGS, waits, prints its VmRSS. Leaves it running (the NCP needs the Signer).
measure() { # NAME ARGS...
    local name=$1
    shift
    "$bin" "$@" > "$dir/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    sleep "$settle"
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "failed $name: exited during start"
        tail -n 5 "$dir/$name.log" | sed 's/^/  | /'
        return 1
    fi
    local kb
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    awk -v n="$name" -v kb="$kb" 'BEGIN { printf "rss %s %.1f\n", n, kb / 1024 }'
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=emrex rss bench (test-only key)" \
    -keyout "$dir/signer.key" -out "$dir/signer.crt" 2>/dev/null

signer_port=$(free_port)
measure emreg emreg --dev --store "sqlite:$dir/emreg.db" \
    --grpc-listen "127.0.0.1:$(free_port)" --http-listen "127.0.0.1:$(free_port)" \
    --admin-listen "127.0.0.1:$(free_port)"
measure signer signer --key "$dir/signer.key" --cert "$dir/signer.crt" \
    --grpc-listen "127.0.0.1:$signer_port" --admin-listen "127.0.0.1:$(free_port)"
ncp_port=$(free_port)
measure ncp ncp --dev --store "sqlite:$dir/ncp.db" --signer "http://127.0.0.1:$signer_port" \
    --http-listen "127.0.0.1:$ncp_port" --public-url "http://127.0.0.1:$ncp_port" \
    --grpc-listen "127.0.0.1:$(free_port)" --admin-listen "127.0.0.1:$(free_port)"
smp_port=$(free_port)
measure smp smp --dev --store "sqlite:$dir/smp.db" \
    --http-listen "127.0.0.1:$smp_port" --public-url "http://127.0.0.1:$smp_port" \
    --grpc-listen "127.0.0.1:$(free_port)" --admin-listen "127.0.0.1:$(free_port)"
measure dev dev --data-dir "$dir/dev" --smp-port "$(free_port)" --ncp-port "$(free_port)" \
    --emreg-port "$(free_port)" --smp-grpc-port "$(free_port)" --admin-port "$(free_port)"
exit 0
