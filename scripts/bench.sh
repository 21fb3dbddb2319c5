#!/usr/bin/env bash
# scripts/bench.sh [--quick]: runs the benchmarks behind the figures of issue #14 and ends with one
# line per figure:
#
#   figure NAME VALUE      a measurement of this run (ratios: "ours ÷ theirs" > 1 means we are
#                          faster; "× floor" and "p99 ÷ p50" are costs, lower is better)
#   figure NAME n/a        not measured in this run, followed by a line `reason NAME: …`
#
# Never a made-up number: a figure is printed only from a line the benches wrote in this run to
# $EMREX_FIGURES (default $CARGO_TARGET_DIR/emrex-figures.jsonl; JSON lines, see
# tests/src/figures.rs). --quick shortens every measurement (within 15 minutes on 2 cores once
# built); without it the benches run at their documented lengths.
#
# Builds with cargo (run the script under `nice -n 19` on a shared machine). Needs `wrk` and
# `nginx` for the EMREG figure (the bench installs them with apt-get when missing); the operator
# figure needs the local Kubernetes control plane (scripts/k8s-control-plane.sh builds it; this
# script never does). Other figures print n/a with the reason when their peer is missing.
set -uo pipefail

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
    esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$target
figures=${EMREX_FIGURES:-$target/emrex-figures.jsonl}
export EMREX_FIGURES=$figures
mkdir -p "$(dirname "$figures")"
# Only this run's lines count: keep the previous file beside it.
[[ -f $figures ]] && mv -f "$figures" "$figures.previous"
: > "$figures"
log_dir=$target/bench-logs
mkdir -p "$log_dir"
started=$(date +%s)

# The figures of the issue's table, in its order.
NAMES=(
    verify_vs_libxmlsec1_small verify_vs_libxmlsec1_large
    verify_vs_santuario_small verify_vs_santuario_large
    verify_large_vs_floor
    sign_vs_libxmlsec1_small sign_vs_libxmlsec1_large
    cli_sign_vs_xmlsec1
    emreg_json_vs_nginx
    federation_cpu_vs_crypto federation_p99_over_p50_1 federation_p99_over_p50_8
    operator_reconciled_vs_raw
    rss_mib_max_service
)
declare -A REASON

say() { printf '== %s (%ds)\n' "$*" "$(($(date +%s) - started))"; }

# Appends a figure computed by this script (same format as tests/src/figures.rs).
record() { # NAME VALUE DETAIL
    python3 - "$figures" "$1" "$2" "$3" <<'PY'
import json, sys, time
path, name, value, detail = sys.argv[1:5]
with open(path, "a") as f:
    f.write(json.dumps({"figure": name, "value": float(value), "detail": detail,
                        "bench": "bench.sh", "unix": int(time.time())}) + "\n")
PY
}

run_bench() { # LOG-NAME REASON-IF-FAILED FIGURES... -- CARGO-ARGS...
    local name=$1 why=$2
    shift 2
    local names=()
    while [[ $1 != -- ]]; do names+=("$1"); shift; done
    shift
    say "$name: cargo $*"
    if ! cargo "$@" > "$log_dir/$name.log" 2>&1; then
        echo "   failed: see $log_dir/$name.log"
        tail -n 5 "$log_dir/$name.log" | sed 's/^/   | /'
        for n in "${names[@]}"; do REASON[$n]="$why failed (log: $log_dir/$name.log)"; done
        return 1
    fi
    grep -E '^(\||figure )' "$log_dir/$name.log" | sed 's/^/   /'
}

if ((quick)); then
    CRITERION=(--warm-up-time 1 --measurement-time 2)
    export EMREX_BENCH_SECONDS=3
    FED_LEVELS=1,8
    OPERATOR_NCPS=100
else
    CRITERION=()
    unset EMREX_BENCH_SECONDS
    FED_LEVELS=1,8,32
    OPERATOR_NCPS=500
fi

say "build the benches"
if ! cargo bench --locked --no-run -p emrex-xmldsig -p emrex-emreg -p emrex-smp \
    > "$log_dir/build.log" 2>&1; then
    echo "   build failed: see $log_dir/build.log"
    tail -n 20 "$log_dir/build.log"
    exit 1
fi

# 1. XML signature, ours against the bare crypto floor (criterion).
if run_bench xmldsig "the xmldsig bench" verify_large_vs_floor -- \
    bench --locked -p emrex-xmldsig --bench sign_verify -- "${CRITERION[@]}"; then
    python3 - "$target/criterion" "$figures" <<'PY' || REASON[verify_large_vs_floor]="criterion estimates not found"
import json, sys, time
from pathlib import Path
root, figures = Path(sys.argv[1]), sys.argv[2]
group = root / "large-150los-300kb"
def median(function_id):
    for bench in group.iterdir():
        bm = bench / "new" / "benchmark.json"
        if bm.is_file() and json.loads(bm.read_text())["function_id"] == function_id:
            return json.loads((bench / "new" / "estimates.json").read_text())["median"]["point_estimate"]
    raise SystemExit(f"no {function_id} in {group}")
verify = median("verify (inclusive c14n)")
floor = median("baseline-verify (sha256 + rsa2048 verify)")
line = {"figure": "verify_large_vs_floor", "value": verify / floor,
        "detail": f"verify {verify/1e6:.2f} ms ÷ SHA-256 + RSA-2048 verify {floor/1e6:.3f} ms, large ELMO",
        "bench": "sign_verify", "unix": int(time.time())}
open(figures, "a").write(json.dumps(line) + "\n")
print(f"   figure verify_large_vs_floor {verify / floor:.3f}")
PY
fi

# 2. EMREG's JSON list against nginx serving the same bytes.
run_bench emreg "the EMREG list bench" emreg_json_vs_nginx -- \
    bench --locked -p emrex-emreg --bench ncp_list_http

# 3. The whole federation: tail latency and CPU per exchange.
EMREX_BENCH_LEVELS=$FED_LEVELS run_bench federation "the federation bench" \
    federation_cpu_vs_crypto federation_p99_over_p50_1 federation_p99_over_p50_8 -- \
    bench --locked -p emrex-smp --bench federation

# 4. The operator at scale, only where the local control plane is built (never built here).
if [[ -n ${KUBECONFIG:-} || -x $HOME/.cache/emrex-rs/k8s/bin/kube-apiserver ]]; then
    EMREX_BENCH_NCPS=$OPERATOR_NCPS run_bench operator "the operator bench" operator_reconciled_vs_raw -- \
        bench --locked -p emrex --bench operator_scale
    if ! grep -q '"operator_reconciled_vs_raw"' "$figures"; then
        REASON[operator_reconciled_vs_raw]=${REASON[operator_reconciled_vs_raw]:-"the operator bench does not write this figure yet; read its table in $log_dir/operator.log"}
    fi
else
    REASON[operator_reconciled_vs_raw]="no Kubernetes control plane: neither KUBECONFIG nor ~/.cache/emrex-rs/k8s/bin/kube-apiserver (scripts/k8s-control-plane.sh builds it)"
fi

# 5. The release binary: whole-process signing against xmlsec1, resident memory of the services.
say "build the emrex binary (release)"
emrex_built=0
if cargo build --locked --release -p emrex --bin emrex > "$log_dir/emrex-build.log" 2>&1; then
    emrex_built=1
else
    REASON[cli_sign_vs_xmlsec1]="the release build of emrex failed (log: $log_dir/emrex-build.log)"
fi
if ((emrex_built)); then
    say "emrex elmo sign vs xmlsec1 --sign, whole processes"
    if bash "$root/scripts/bench-cli-sign.sh" "$target/release/emrex" "$( ((quick)) && echo 20 || echo 100)" \
        > "$log_dir/cli-sign.log" 2>&1; then
        sed 's/^/   /' "$log_dir/cli-sign.log"
        v=$(awk '$1 == "figure" && $2 == "cli_sign_vs_xmlsec1" {print $3}' "$log_dir/cli-sign.log")
        [[ -n $v ]] && record cli_sign_vs_xmlsec1 "$v" \
            "$(grep -E '^(emrex|xmlsec1)' "$log_dir/cli-sign.log" | tr '\n' ';')"
    else
        sed 's/^/   | /' "$log_dir/cli-sign.log"
        REASON[cli_sign_vs_xmlsec1]="scripts/bench-cli-sign.sh failed (log: $log_dir/cli-sign.log)"
    fi
fi
say "resident memory of idle services"
if ((emrex_built)); then
    if bash "$root/scripts/bench-rss.sh" "$target/release/emrex" > "$log_dir/rss.log" 2>&1; then
        sed 's/^/   /' "$log_dir/rss.log"
        # The figure is the largest single service; `emrex dev` (all four in one process) is
        # reported beside it, not counted.
        max=$(awk '$1 == "rss" && $2 != "dev" {print $3}' "$log_dir/rss.log" | sort -g | tail -n 1)
        what=$(awk '$1 == "rss" {printf "%s%s %s MiB", sep, $2, $3; sep=", "}' "$log_dir/rss.log")
        if [[ -n $max ]]; then
            record rss_mib_max_service "$max" "VmRSS after start, idle: $what"
        else
            REASON[rss_mib_max_service]="no service started (log: $log_dir/rss.log)"
        fi
    else
        sed 's/^/   | /' "$log_dir/rss.log"
        REASON[rss_mib_max_service]="scripts/bench-rss.sh failed (log: $log_dir/rss.log)"
    fi
else
    REASON[rss_mib_max_service]="the release build of emrex failed (log: $log_dir/emrex-build.log)"
fi

# Peers: not part of the repository's benches yet.
for n in verify_vs_libxmlsec1_small verify_vs_libxmlsec1_large sign_vs_libxmlsec1_small \
    sign_vs_libxmlsec1_large; do
    REASON[$n]=${REASON[$n]:-"no libxmlsec1 in-process harness yet (PyPI xmlsec in a venv built against the system libxml2/libxmlsec1; see docs/benchmarks.md)"}
done
for n in verify_vs_santuario_small verify_vs_santuario_large; do
    REASON[$n]=${REASON[$n]:-"no in-process timing in the Santuario harness (tests/santuario) yet"}
done

say "figures ($(basename "$figures"))"
for n in "${NAMES[@]}"; do
    value=$(python3 - "$figures" "$n" <<'PY'
import json, sys
value = None
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("figure") == sys.argv[2]:
        value = d["value"]
print("" if value is None else f"{value:.3f}")
PY
)
    if [[ -n $value ]]; then
        echo "figure $n $value"
    else
        echo "figure $n n/a"
        echo "reason $n: ${REASON[$n]:-the bench that measures it did not record it (see $log_dir)}"
    fi
done
