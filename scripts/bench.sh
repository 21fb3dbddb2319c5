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
#
#   EMREX_BENCH_SKIP="PART ..."   leave parts out (their figures print n/a with that reason):
#                                 xmldsig (ours and the peers), emreg, federation, operator
#                                 (e.g. where someone else uses the one control plane), release
#                                 (the release binary: cli_sign_vs_xmlsec1, rss_mib_max_service).
# The peers in process: libxmlsec1 (PyPI xmlsec in a venv of its own,
# ${EMREX_CACHE_DIR:-~/.cache/emrex-rs}/libxmlsec1-venv, built at first use against Debian's
# libxml2 and libxmlsec1) and Santuario (Debian libxml-security-java, the tests' harness
# tests/santuario/Santuario.java compiled with javac).
set -uo pipefail

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
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
skip=" ${EMREX_BENCH_SKIP:-} "
skipped() { [[ $skip == *" $1 "* ]]; }
skip_reason() { # PART FIGURES...
    local part=$1
    shift
    for n in "$@"; do REASON[$n]="skipped: EMREX_BENCH_SKIP contains $part"; done
}

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
    # A bench without table lines is fine (grep's status must not fail the step under pipefail).
    { grep -E '^(\||figure )' "$log_dir/$name.log" || true; } | sed 's/^/   /'
}

if ((quick)); then
    CRITERION=(--warm-up-time 1 --measurement-time 2)
    export EMREX_BENCH_SECONDS=3
    FED_LEVELS=1,8
    OPERATOR_NCPS=100
    PEER_SECONDS=3
else
    CRITERION=()
    unset EMREX_BENCH_SECONDS
    FED_LEVELS=1,8,32
    OPERATOR_NCPS=500
    PEER_SECONDS=10
fi

bench_packages=()
skipped xmldsig || bench_packages+=(-p emrex-xmldsig)
skipped emreg || bench_packages+=(-p emrex-emreg)
skipped federation || bench_packages+=(-p emrex-smp)
if ((${#bench_packages[@]})); then
    say "build the benches"
    if ! cargo bench --locked --no-run "${bench_packages[@]}" > "$log_dir/build.log" 2>&1; then
        echo "   build failed: see $log_dir/build.log"
        tail -n 20 "$log_dir/build.log"
        exit 1
    fi
fi

# 1. XML signature, ours against the bare crypto floor (criterion). The bench also writes its
# documents, key and certificate to $EMREX_BENCH_PEER_DIR for the peers' harnesses (2., 3.), and
# our medians of this run go to ours.json there.
peers=$target/bench-peers
rm -rf "$peers"
ours_ok=0
if skipped xmldsig; then
    skip_reason xmldsig verify_large_vs_floor verify_vs_libxmlsec1_small verify_vs_libxmlsec1_large \
        sign_vs_libxmlsec1_small sign_vs_libxmlsec1_large verify_vs_santuario_small \
        verify_vs_santuario_large
elif EMREX_BENCH_PEER_DIR=$peers run_bench xmldsig "the xmldsig bench" verify_large_vs_floor -- \
    bench --locked -p emrex-xmldsig --bench sign_verify -- "${CRITERION[@]}"; then
    if python3 - "$target/criterion" "$figures" "$peers/ours.json" <<'PY'; then
import json, sys, time
from pathlib import Path
root, figures, ours_path = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
def median(group, function_id):
    group = root / group
    for bench in group.iterdir():
        bm = bench / "new" / "benchmark.json"
        if bm.is_file() and json.loads(bm.read_text())["function_id"] == function_id:
            return json.loads((bench / "new" / "estimates.json").read_text())["median"]["point_estimate"]
    raise SystemExit(f"no {function_id} in {group}")
verify = median("large-150los-300kb", "verify (inclusive c14n)")
floor = median("large-150los-300kb", "baseline-verify (sha256 + rsa2048 verify)")
line = {"figure": "verify_large_vs_floor", "value": verify / floor,
        "detail": f"verify {verify/1e6:.2f} ms ÷ SHA-256 + RSA-2048 verify {floor/1e6:.3f} ms, large ELMO",
        "bench": "sign_verify", "unix": int(time.time())}
open(figures, "a").write(json.dumps(line) + "\n")
print(f"   figure verify_large_vs_floor {verify / floor:.3f}")
ours = {}
for size, group in (("small", "example-v1.7"), ("large", "large-150los-300kb")):
    ours[f"verify_{size}_ns"] = median(group, "verify (inclusive c14n)")
    ours[f"sign_{size}_ns"] = median(group, "sign (inclusive c14n)")
open(ours_path, "w").write(json.dumps(ours))
PY
        ours_ok=1
    else
        REASON[verify_large_vs_floor]="criterion estimates not found"
    fi
fi

# Appends peer figures: ours ÷ theirs as time(theirs) ÷ time(ours), from two JSON objects of
# nanoseconds (ours.json and the peer's answer).
peer_figures() { # PEER-JSON-FILE PEER-NAME KIND...
    python3 - "$figures" "$peers/ours.json" "$@" <<'PY'
import json, sys, time
figures, ours_path, theirs_path, peer = sys.argv[1:5]
ours, theirs = json.load(open(ours_path)), json.load(open(theirs_path))
with open(figures, "a") as f:
    for kind in sys.argv[5:]:
        for size in ("small", "large"):
            key = f"{kind}_{size}_ns"
            if key not in theirs:
                continue
            o, t = ours[key], theirs[key]
            name = f"{kind}_vs_{peer}_{size}"
            detail = f"{peer} {t/1e6:.3f} ms ÷ ours {o/1e6:.3f} ms (medians, same bytes and key)"
            f.write(json.dumps({"figure": name, "value": t / o, "detail": detail,
                                "bench": "bench.sh", "unix": int(time.time())}) + "\n")
            print(f"   figure {name} {t / o:.3f}  ({detail})")
PY
}

# 2. libxmlsec1 in process: PyPI `xmlsec` and lxml built from source against the system libxml2
# and libxmlsec1 (the lxml wheel bundles another libxml2), in a venv of their own outside the
# clone. Installs the Debian build dependencies with apt-get when missing.
cache=${EMREX_CACHE_DIR:-$HOME/.cache/emrex-rs}
venv=$cache/libxmlsec1-venv
libxmlsec1_venv() {
    [[ -x $venv/bin/python ]] && "$venv/bin/python" -c 'import lxml, xmlsec' 2> /dev/null && return 0
    local need=()
    for p in libxml2-dev libxmlsec1-dev pkg-config python3-venv python3-dev; do
        dpkg -s "$p" > /dev/null 2>&1 || need+=("$p")
    done
    if ((${#need[@]})); then
        local sudo=""
        [[ $(id -u) == 0 ]] || sudo=sudo
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" > /dev/null \
            || return 1
    fi
    rm -rf "$venv"
    mkdir -p "$cache"
    # Debian's python3 (its headers are the -dev package's), not whatever python3 is first in PATH.
    /usr/bin/python3 -m venv "$venv" || return 1
    # Both from source against the system libraries; lxml < 6 (6.x wants a Cython newer than the
    # index may have). xmlsec without build isolation, so that it builds against the lxml just
    # installed instead of compiling a second lxml for its build environment.
    local pip=("$venv/bin/pip" install --quiet --disable-pip-version-check)
    "${pip[@]}" --no-binary lxml 'lxml>=5.3,<6' \
        && "${pip[@]}" setuptools wheel 'setuptools_scm[toml]>=3.4' 'pkgconfig>=1.5.1' \
        && "${pip[@]}" --no-build-isolation --no-binary xmlsec 'xmlsec>=1.3.14' \
        && "$venv/bin/python" -c 'import lxml, xmlsec' || return 1
}
if ((ours_ok)); then
    say "libxmlsec1 in process (PyPI xmlsec in $venv)"
    if ! libxmlsec1_venv > "$log_dir/libxmlsec1-venv.log" 2>&1; then
        for n in verify_vs_libxmlsec1_small verify_vs_libxmlsec1_large sign_vs_libxmlsec1_small \
            sign_vs_libxmlsec1_large; do
            REASON[$n]="the libxmlsec1 venv could not be built (log: $log_dir/libxmlsec1-venv.log)"
        done
    elif "$venv/bin/python" tests/libxmlsec1/bench.py "$peers" "$PEER_SECONDS" \
        > "$peers/libxmlsec1.json" 2> "$log_dir/libxmlsec1.log"; then
        echo "   $(cat "$peers/libxmlsec1.json")"
        peer_figures "$peers/libxmlsec1.json" libxmlsec1 verify sign
    else
        tail -n 5 "$log_dir/libxmlsec1.log" | sed 's/^/   | /'
        for n in verify_vs_libxmlsec1_small verify_vs_libxmlsec1_large sign_vs_libxmlsec1_small \
            sign_vs_libxmlsec1_large; do
            REASON[$n]="tests/libxmlsec1/bench.py failed (log: $log_dir/libxmlsec1.log)"
        done
    fi
fi

# 3. Apache Santuario in process (Debian libxml-security-java): the tests' harness in its timing
# mode, one JVM, secure validation on, a warm-up of the same length as the measurement.
santuario_cp=$target/santuario-classes
for jar in xmlsec commons-codec slf4j-api slf4j-nop; do santuario_cp+=":/usr/share/java/$jar.jar"; done
if ((ours_ok)); then
    say "Santuario in process (tests/santuario/Santuario.java, bench-verify)"
    if [[ ! -f /usr/share/java/xmlsec.jar ]] || ! command -v javac > /dev/null; then
        for n in verify_vs_santuario_small verify_vs_santuario_large; do
            REASON[$n]="no Santuario: apt-get install libxml-security-java default-jdk-headless"
        done
    elif javac -d "$target/santuario-classes" -cp "$santuario_cp" tests/santuario/Santuario.java \
        > "$log_dir/santuario.log" 2>&1 \
        && printf 'bench-verify\t%s\t%s\t%s\nbench-verify\t%s\t%s\t%s\n' \
            "$peers/small-signed.xml" "$peers/cert.pem" "$PEER_SECONDS" \
            "$peers/large-signed.xml" "$peers/cert.pem" "$PEER_SECONDS" \
            | java -cp "$santuario_cp" Santuario > "$peers/santuario.txt" 2>> "$log_dir/santuario.log" \
        && python3 - "$peers/santuario.txt" "$peers/santuario.json" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
out = {}
for size, line in zip(("small", "large"), lines):
    f = line.split()
    if len(f) != 3 or f[0] != "OK":
        raise SystemExit(f"Santuario {size}: {line!r}")
    out[f"verify_{size}_ns"], out[f"verify_{size}_n"] = float(f[1]), int(f[2])
json.dump(out, open(sys.argv[2], "w"))
PY
    then
        echo "   $(cat "$peers/santuario.json")"
        peer_figures "$peers/santuario.json" santuario verify
    else
        sed 's/^/   | /' "$peers/santuario.txt" 2> /dev/null
        tail -n 5 "$log_dir/santuario.log" | sed 's/^/   | /'
        for n in verify_vs_santuario_small verify_vs_santuario_large; do
            REASON[$n]="the Santuario harness failed (log: $log_dir/santuario.log)"
        done
    fi
fi

# 4. EMREG's JSON list against nginx serving the same bytes.
if skipped emreg; then
    skip_reason emreg emreg_json_vs_nginx
else
    run_bench emreg "the EMREG list bench" emreg_json_vs_nginx -- \
        bench --locked -p emrex-emreg --bench ncp_list_http
fi

# 5. The whole federation: tail latency and CPU per exchange.
if skipped federation; then
    skip_reason federation federation_cpu_vs_crypto federation_p99_over_p50_1 federation_p99_over_p50_8
else
    EMREX_BENCH_LEVELS=$FED_LEVELS run_bench federation "the federation bench" \
        federation_cpu_vs_crypto federation_p99_over_p50_1 federation_p99_over_p50_8 -- \
        bench --locked -p emrex-smp --bench federation
fi

# 6. The operator at scale, only where the local control plane is built (never built here).
if skipped operator; then
    skip_reason operator operator_reconciled_vs_raw
elif [[ -n ${KUBECONFIG:-} || -x $HOME/.cache/emrex-rs/k8s/bin/kube-apiserver ]]; then
    EMREX_BENCH_NCPS=$OPERATOR_NCPS run_bench operator "the operator bench" operator_reconciled_vs_raw -- \
        bench --locked -p emrex --bench operator_scale
    if ! grep -q '"operator_reconciled_vs_raw"' "$figures"; then
        REASON[operator_reconciled_vs_raw]=${REASON[operator_reconciled_vs_raw]:-"the operator bench does not write this figure yet; read its table in $log_dir/operator.log"}
    fi
else
    REASON[operator_reconciled_vs_raw]="no Kubernetes control plane: neither KUBECONFIG nor ~/.cache/emrex-rs/k8s/bin/kube-apiserver (scripts/k8s-control-plane.sh builds it)"
fi

# 7. The release binary: whole-process signing against xmlsec1, resident memory of the services.
emrex_built=0
if skipped release; then
    skip_reason release cli_sign_vs_xmlsec1
elif say "build the emrex binary (release)" && cargo build --locked --release -p emrex --bin emrex > "$log_dir/emrex-build.log" 2>&1; then
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
if skipped release; then
    skip_reason release rss_mib_max_service
elif ((emrex_built)); then
    say "resident memory of idle services"
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

# Peers without our numbers of this run: nothing to divide by.
if ((!ours_ok)) && ! skipped xmldsig; then
    for n in verify_vs_libxmlsec1_small verify_vs_libxmlsec1_large sign_vs_libxmlsec1_small \
        sign_vs_libxmlsec1_large verify_vs_santuario_small verify_vs_santuario_large; do
        REASON[$n]=${REASON[$n]:-"the xmldsig bench gave no medians of ours in this run (log: $log_dir/xmldsig.log)"}
    done
fi

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
