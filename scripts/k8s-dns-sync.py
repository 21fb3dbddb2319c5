#!/usr/bin/env python3
"""Cluster DNS records for dnsmasq: the watcher half of the node's cluster DNS.

Watches the API server's Services and keeps a hosts file with one line per Service that has a
ClusterIP (`IP NAME.NAMESPACE.svc.DOMAIN`); dnsmasq serves it (and answers NXDOMAIN for any other
name under DOMAIN). Each change rewrites the file atomically and sends dnsmasq SIGHUP, which makes
it re-read its hosts files. A second file (`--extra`, written by tests: names outside the cluster
such as an ingress's host names) is re-read when its modification time changes.

This is the split of the original kube-dns (a Go watcher feeding dnsmasq) with Debian's dnsmasq;
no CoreDNS package exists here. Headless Services (no ClusterIP) and SRV records are not served.

Standard library only. Started and stopped by scripts/k8s-node.sh.
"""

import argparse
import http.client
import json
import os
import signal
import ssl
import sys
import threading
import time
import urllib.parse


def log(message):
    print(f"k8s-dns-sync: {message}", file=sys.stderr, flush=True)


class Api:
    def __init__(self, server, ca, token):
        url = urllib.parse.urlsplit(server)
        self.host, self.port = url.hostname, url.port or 443
        self.context = ssl.create_default_context(cafile=ca)
        self.token = token

    def get(self, path, timeout):
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            body = response.read(2000).decode(errors="replace")
            conn.close()
            raise RuntimeError(f"GET {path}: HTTP {response.status}: {body}")
        return conn, response


class Records:
    """Services by (namespace, name) -> ClusterIP, and the hosts file they make."""

    def __init__(self, args):
        self.args = args
        self.services = {}
        self.lock = threading.Lock()
        self.written = None

    def set_all(self, items):
        with self.lock:
            self.services = {key(s): ip(s) for s in items if ip(s)}
            self.flush()

    def apply(self, event_type, obj):
        with self.lock:
            if event_type == "DELETED" or not ip(obj):
                self.services.pop(key(obj), None)
            else:
                self.services[key(obj)] = ip(obj)
            self.flush()

    def flush(self, force=False):
        lines = sorted(f"{addr} {name}.{ns}.svc.{self.args.domain}" for (ns, name), addr in self.services.items())
        text = "".join(line + "\n" for line in lines)
        if text == self.written and not force:
            return
        tmp = self.args.hosts + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.args.hosts)
        self.written = text
        reload_dnsmasq(self.args.dnsmasq_pid_file)


def key(service):
    meta = service.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


def ip(service):
    cluster_ip = service.get("spec", {}).get("clusterIP", "")
    return cluster_ip if cluster_ip and cluster_ip != "None" else ""


def reload_dnsmasq(pid_file):
    try:
        with open(pid_file, encoding="utf-8") as f:
            os.kill(int(f.read().strip()), signal.SIGHUP)
    except (OSError, ValueError) as e:
        log(f"cannot signal dnsmasq ({pid_file}): {e}")


def watch_extra(args, records):
    last = None
    while True:
        try:
            mtime = os.stat(args.extra).st_mtime_ns
        except OSError:
            mtime = None
        if mtime != last:
            if last is not None:
                log(f"{args.extra} changed")
                with records.lock:
                    reload_dnsmasq(args.dnsmasq_pid_file)
            last = mtime
        time.sleep(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--hosts", required=True)
    parser.add_argument("--extra", required=True)
    parser.add_argument("--dnsmasq-pid-file", required=True)
    parser.add_argument("--domain", default="cluster.local")
    args = parser.parse_args()
    with open(args.token_file, encoding="utf-8") as f:
        api = Api(args.server, args.ca, f.read().strip())
    records = Records(args)
    threading.Thread(target=watch_extra, args=(args, records), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        try:
            conn, response = api.get("/api/v1/services", timeout=30)
            listing = json.loads(response.read())
            conn.close()
            records.set_all(listing.get("items", []))
            version = listing["metadata"]["resourceVersion"]
            log(f"{len(records.services)} services at resourceVersion {version}")
            conn, response = api.get(
                f"/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion={version}&timeoutSeconds=300",
                timeout=330,
            )
            while True:
                line = response.readline()
                if not line:
                    break
                event = json.loads(line)
                kind = event.get("type")
                if kind == "ERROR":
                    log(f"watch error: {event.get('object')}")
                    break
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    records.apply(kind, event["object"])
            conn.close()
        except (OSError, RuntimeError, ValueError, KeyError, http.client.HTTPException) as e:
            log(f"{e}; again in 1 s")
            time.sleep(1)


if __name__ == "__main__":
    main()
