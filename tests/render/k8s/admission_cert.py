#!/usr/bin/env python3
"""Checks the admission webhook's certificate in `helm template` output:
the Secret's tls.crt is signed by the CA of its ca.crt, which is the
caBundle of every webhook, covers the Service's DNS name, and matches
tls.key. Usage: admission_cert.py RENDERED.yaml DNS-NAME"""
import base64
import os
import subprocess
import sys
import tempfile

import yaml


def main(rendered, dns_name):
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"].endswith("-admission-tls"))
    config = next(d for d in docs if d["kind"] == "ValidatingWebhookConfiguration")
    bundles = {w["clientConfig"]["caBundle"] for w in config["webhooks"]}
    if bundles != {secret["data"]["ca.crt"]}:
        sys.exit("FAIL: the webhooks' caBundle is not the Secret's ca.crt")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for key in ("ca.crt", "tls.crt", "tls.key"):
            paths[key] = os.path.join(tmp, key)
            with open(paths[key], "wb") as out:
                out.write(base64.b64decode(secret["data"][key]))
        subprocess.run(["openssl", "verify", "-CAfile", paths["ca.crt"], "-verify_hostname", dns_name, paths["tls.crt"]],
                       check=True, stdout=subprocess.DEVNULL)
        pub = [subprocess.run(["openssl", kind, "-in", paths[f], "-noout", "-pubkey"] if kind == "x509" else
                              ["openssl", "pkey", "-in", paths[f], "-pubout"],
                              check=True, capture_output=True).stdout for kind, f in (("x509", "tls.crt"), ("pkey", "tls.key"))]
        if pub[0] != pub[1]:
            sys.exit("FAIL: tls.key does not match tls.crt")
    print("admission certificate: signed by the caBundle's CA for %s, key matches" % dns_name)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
