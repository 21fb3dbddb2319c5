#!/usr/bin/env python3
"""libxmlsec1 in process (PyPI `xmlsec` over the system libxml2/libxmlsec1, through lxml built
against the same libxml2): times verify and sign of the very documents and key the emrex-xmldsig
bench wrote (EMREX_BENCH_PEER_DIR), in a loop, and prints one JSON object.

    bench.py DIR SECONDS

DIR holds key.pem (PKCS#8), cert.pem, small.xml / large.xml (unsigned) and small-signed.xml /
large-signed.xml (signed by emrex-xmldsig: enveloped, inclusive C14N, RSA-SHA256, SHA-256).

What is timed, per iteration, so that it does what ours does:
  verify: parse the signed bytes (no entities, no network), find the one ds:Signature, verify it
          with the pinned key (the certificate's public key, loaded once, as ours pins it once).
  sign:   parse the unsigned bytes, add the same enveloped template (inclusive C14N, RSA-SHA256,
          SHA-256, the certificate in KeyInfo), sign with the key (loaded once), serialize.
          Ours also verifies its own output (the self-check); libxmlsec1 does not.

Each loop runs a warm-up of a fifth of SECONDS, then iterations until SECONDS have passed (at
least 5); the median per iteration is reported in nanoseconds. Before timing, each signed output
of this harness is verified here, and every document of ours must verify, or the harness fails.
"""

import json
import statistics
import sys
import time

from lxml import etree
import xmlsec

DS = "http://www.w3.org/2000/09/xmldsig#"


def parser():
    # What a careful verifier does: no entity expansion, no network, no DTD loading.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           huge_tree=False, remove_blank_text=False)


def verify_once(data, key):
    root = etree.fromstring(data, parser())
    sigs = root.findall(".//{%s}Signature" % DS)
    if len(sigs) != 1:
        raise SystemExit(f"{len(sigs)} ds:Signature elements")
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.verify(sigs[0])  # raises xmlsec.VerificationError on failure


def sign_once(data, key):
    root = etree.fromstring(data, parser())
    sig = xmlsec.template.create(root, xmlsec.Transform.C14N, xmlsec.Transform.RSA_SHA256)
    root.append(sig)
    ref = xmlsec.template.add_reference(sig, xmlsec.Transform.SHA256, uri="")
    xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
    ki = xmlsec.template.ensure_key_info(sig)
    x509 = xmlsec.template.add_x509_data(ki)
    xmlsec.template.x509_data_add_certificate(x509)
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.sign(sig)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def timed(fn, seconds):
    warm_end = time.perf_counter() + seconds / 5
    while time.perf_counter() < warm_end:
        fn()
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < 5:
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    return statistics.median(samples), len(samples)


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: bench.py DIR SECONDS")
    d, seconds = sys.argv[1], float(sys.argv[2])
    sign_key = xmlsec.Key.from_file(f"{d}/key.pem", xmlsec.KeyFormat.PEM)
    sign_key.load_cert_from_file(f"{d}/cert.pem", xmlsec.KeyFormat.PEM)
    pinned = xmlsec.Key.from_file(f"{d}/cert.pem", xmlsec.KeyFormat.CERT_PEM)
    out = {
        "libxmlsec1": "%d.%d.%d" % xmlsec.get_libxmlsec_version(),
        "libxml2": "%d.%d.%d" % etree.LIBXML_VERSION,
        "lxml_compiled_libxml2": "%d.%d.%d" % etree.LIBXML_COMPILED_VERSION,
        "seconds": seconds,
    }
    for size in ("small", "large"):
        unsigned = open(f"{d}/{size}.xml", "rb").read()
        signed = open(f"{d}/{size}-signed.xml", "rb").read()
        # Correctness first: ours verifies here, and what we time signing verifies too.
        verify_once(signed, pinned)
        verify_once(sign_once(unsigned, sign_key), pinned)
        v, nv = timed(lambda: verify_once(signed, pinned), seconds)
        s, ns = timed(lambda: sign_once(unsigned, sign_key), seconds)
        out[f"verify_{size}_ns"] = v
        out[f"verify_{size}_n"] = nv
        out[f"sign_{size}_ns"] = s
        out[f"sign_{size}_n"] = ns
        out[f"{size}_bytes"] = len(unsigned)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
