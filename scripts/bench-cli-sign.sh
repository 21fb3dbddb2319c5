#!/usr/bin/env bash
# scripts/bench-cli-sign.sh EMREX-BINARY [RUNS]: whole-process signing, `emrex elmo sign` against
# `xmlsec1 --sign`, on the same document (the ELMO v1.7 example, 18 KB, its illustrative signature
# removed) with the same RSA-2048 key, RUNS (default 30) runs each, alternating. Prints the wall
# time of each side and `figure cli_sign_vs_xmlsec1 RATIO` where RATIO = xmlsec1's mean time ÷
# ours (above 1: we are faster). Both outputs are checked to verify with xmlsec1 first.
# Used by scripts/bench.sh; needs xmlsec1 and openssl (Debian: xmlsec1, openssl).
set -euo pipefail

bin=${1:?usage: $0 EMREX-BINARY [RUNS]}
runs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
command -v xmlsec1 > /dev/null || { echo "xmlsec1 missing: apt-get install xmlsec1" >&2; exit 3; }

fixtures=${EMREX_FIXTURES:-}
if [[ -z $fixtures ]]; then
    for d in "$root/../shared/fixtures/emrex" "$root/shared/fixtures/emrex" /work/shared/fixtures/emrex; do
        [[ -d $d ]] && { fixtures=$d; break; }
    done
fi
example=$fixtures/xml/elmo-schemas-examples/example-v1.7.0.xml
[[ -f $example ]] || { echo "no fixture $example (set EMREX_FIXTURES)" >&2; exit 3; }

dir=$(mktemp -d /tmp/emrex-cli-sign.XXXXXX)
trap 'rm -rf "$dir"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=emrex cli bench (test-only key)" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2> /dev/null

# The unsigned document, and the same document with an empty xmlsec1 template (the shape our
# signer produces: enveloped, inclusive C14N, RSA-SHA256, SHA-256, the certificate in KeyInfo).
python3 - "$example" "$dir" <<'PY'
import sys
src, out = sys.argv[1], sys.argv[2]
s = open(src, encoding="utf-8").read()
a = s.index("    <Signature xmlns=")
b = s.index("</Signature>\n") + len("</Signature>\n")
doc = s[:a] + s[b:]
open(f"{out}/unsigned.xml", "w", encoding="utf-8").write(doc)
ds = "http://www.w3.org/2000/09/xmldsig#"
tmpl = (f'<ds:Signature xmlns:ds="{ds}"><ds:SignedInfo>'
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="{ds}enveloped-signature"/>'
        '</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        '<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>'
        '<ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>')
end = doc.rindex("</")
open(f"{out}/template.xml", "w", encoding="utf-8").write(doc[:end] + tmpl + doc[end:])
PY

ours() { "$bin" elmo sign --key "$dir/key.pem" --cert "$dir/cert.pem" -o "$dir/ours.xml" "$dir/unsigned.xml"; }
theirs() { xmlsec1 --sign --privkey-pem "$dir/key.pem,$dir/cert.pem" --output "$dir/theirs.xml" "$dir/template.xml" 2> /dev/null; }

ours
theirs
for f in ours theirs; do
    xmlsec1 --verify --pubkey-cert-pem "$dir/cert.pem" "$dir/$f.xml" > /dev/null 2>&1 \
        || { echo "the $f output does not verify with xmlsec1" >&2; exit 1; }
done

t_ours=0
t_theirs=0
for ((i = 0; i < runs; i++)); do
    s=$(date +%s%N); ours; e=$(date +%s%N); t_ours=$((t_ours + e - s))
    s=$(date +%s%N); theirs; e=$(date +%s%N); t_theirs=$((t_theirs + e - s))
done
awk -v o="$t_ours" -v t="$t_theirs" -v n="$runs" 'BEGIN {
    printf "emrex elmo sign: %.2f ms per process (mean of %d)\n", o / n / 1e6, n
    printf "xmlsec1 --sign:  %.2f ms per process (mean of %d)\n", t / n / 1e6, n
    printf "figure cli_sign_vs_xmlsec1 %.3f\n", t / o
}'
