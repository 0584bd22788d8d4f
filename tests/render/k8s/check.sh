#!/bin/sh
# The schema checks CTest runs (tests/CMakeLists.txt):
#   check.sh rendered WOK   every mode, Ingress and OpenShift, through validate.js
#   check.sh crds WOK       `wok crds` plus the examples and cases validated against it
#   check.sh invalid WOK    each file of invalid/ must be refused
#   check.sh helm           helm lint and helm template on deploy/helm/wok, validated
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CHART=$ROOT/deploy/helm/wok
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
if [ ! -d "$HERE/node_modules/kubernetes-models" ]; then
  echo "error: $HERE/node_modules is missing: run scripts/npm-install.sh tests/render/k8s (make test does; the npm registry must be reachable the first time)" >&2
  exit 1
fi
validate() { node "$HERE/validate.js" "$@"; }

case "$1" in
  rendered)
    for c in "$ROOT"/tests/render/cases/*.yaml; do
      "$2" render -f "$c" > "$OUT/$(basename "$c" .yaml).yaml"
      "$2" render --openshift --ingress-namespace openshift-ingress -f "$c" -o json > "$OUT/$(basename "$c" .yaml)-openshift.json"
    done
    # spec.database through the operators: CloudNativePG's schema is
    # checked; mariadb-operator's is not to be had here (docs/data.md).
    "$2" render --postgresql-operator cloudnative-pg --mariadb-operator mariadb-operator \
      -f "$ROOT/tests/render/cases/database.yaml" > "$OUT/database-operators.yaml"
    grep -q "kind: Cluster" "$OUT/database-operators.yaml"
    # The restore Jobs the operator makes (pinned by the render's goldens).
    cp "$ROOT/tests/render/golden/backup-restore-jobs.yaml" "$OUT/"
    WOK_UNCHECKED_KINDS=k8s.mariadb.com/v1alpha1/MariaDB validate "$OUT"/*
    ;;
  crds)
    "$2" crds > "$OUT/crds.yaml"
    validate "$OUT/crds.yaml" "$ROOT"/examples/*.yaml "$ROOT"/tests/render/cases/*.yaml
    ;;
  invalid)
    "$2" crds > "$OUT/crds.yaml"
    for f in "$HERE"/invalid/*.yaml; do
      if validate "$OUT/crds.yaml" "$f" > "$OUT/log" 2>&1; then
        echo "FAIL: $f was accepted" >&2
        exit 1
      fi
      grep INVALID "$OUT/log"
    done
    ;;
  helm)
    python3 "$HERE/helm.py" lint --strict "$CHART"
    python3 "$HERE/helm.py" lint --strict "$CHART" --set platform.openshift=true
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system --include-crds > "$OUT/default.yaml"
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system --include-crds \
      --set platform.openshift=true --set platform.ingressNamespace=openshift-ingress > "$OUT/openshift.yaml"
    grep -q -- "--openshift" "$OUT/openshift.yaml"
    if grep -q -- "--serve-" "$OUT/default.yaml"; then echo "FAIL: --serve-* flags without values" >&2; exit 1; fi
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system \
      --set serve.maxBody=8Mi --set serve.headerTimeout=10s --set serve.maxConnections=20000 > "$OUT/serve.yaml"
    for flag in --serve-max-body=8Mi --serve-header-timeout=10s --serve-max-connections=20000; do
      grep -q -- "- $flag\$" "$OUT/serve.yaml" || { echo "FAIL: $flag not rendered" >&2; exit 1; }
    done
    # Push webhooks: the listener, its Service, and the Ingress for /hooks/ when a host is given.
    grep -q -- "- --webhook-listen=0.0.0.0:8082\$" "$OUT/default.yaml" || { echo "FAIL: no --webhook-listen" >&2; exit 1; }
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system \
      --set webhooks.ingress.host=hooks.wok.example.org --set webhooks.ingress.tlsSecretName=hooks-tls > "$OUT/hooks.yaml"
    grep -q "path: /hooks/" "$OUT/hooks.yaml" || { echo "FAIL: no webhooks Ingress" >&2; exit 1; }
    # spec.database through the operators: the flags and the operator's rights.
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system \
      --set databases.postgresqlOperator=cloudnative-pg --set databases.mariadbOperator=mariadb-operator > "$OUT/databases.yaml"
    for want in "- --postgresql-operator=cloudnative-pg\$" "- --mariadb-operator=mariadb-operator\$" "postgresql.cnpg.io" "k8s.mariadb.com"; do
      grep -q -- "$want" "$OUT/databases.yaml" || { echo "FAIL: $want not rendered" >&2; exit 1; }
    done
    if grep -q -- "--postgresql-operator" "$OUT/default.yaml"; then echo "FAIL: a database operator by default" >&2; exit 1; fi
    # PostgreSQL's other major versions: an image each (VERSION=IMAGE).
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system \
      --set 'databases.postgresqlVersionImages.13=docker.io/library/postgres:13' \
      --set 'databases.cnpgPostgresqlVersionImages.16=ghcr.io/cloudnative-pg/postgresql:16' > "$OUT/pg-versions.yaml"
    for want in "- --postgresql-image=13=docker.io/library/postgres:13\$" "- --cnpg-postgresql-image=16=ghcr.io/cloudnative-pg/postgresql:16\$"; do
      grep -q -- "$want" "$OUT/pg-versions.yaml" || { echo "FAIL: $want not rendered" >&2; exit 1; }
    done
    if grep -q -- "--cnpg-postgresql-image" "$OUT/default.yaml"; then echo "FAIL: a CloudNativePG image by default" >&2; exit 1; fi
    # Backups into an S3 store: the flags; no credentials Secret named is an error.
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system \
      --set 'backups.repository=s3:https://s3.example.org/wok/{project}' \
      --set 'backups.credentialsSecret=wok-backup-s3-{project}' > "$OUT/backups-s3.yaml"
    for want in "- --backup-repository=s3:https://s3.example.org/wok/{project}\$" "- --backup-credentials-secret=wok-backup-s3-{project}\$"; do
      grep -q -- "$want" "$OUT/backups-s3.yaml" || { echo "FAIL: $want not rendered" >&2; exit 1; }
    done
    if python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system \
      --set 'backups.repository=s3:https://s3.example.org/wok/{project}' > /dev/null 2> "$OUT/log"; then
      echo "FAIL: backups.repository without credentialsSecret rendered" >&2; exit 1
    fi
    grep -q "backups.credentialsSecret is needed" "$OUT/log" || { cat "$OUT/log" >&2; exit 1; }
    if grep -q -- "--backup-repository" "$OUT/default.yaml"; then echo "FAIL: an S3 store by default" >&2; exit 1; fi
    validate "$OUT/default.yaml" "$OUT/openshift.yaml" "$OUT/serve.yaml" "$OUT/hooks.yaml" "$OUT/databases.yaml" "$OUT/backups-s3.yaml"
    # The admission webhook: Helm's certificate is signed by the caBundle's CA
    # for the Service's name, and the operator gets it and the flags; the
    # cert-manager variant (with the chart's Issuer, or one of the admin's) validates.
    python3 "$HERE/admission_cert.py" "$OUT/default.yaml" wok-admission.wok-system.svc
    grep -q -- "- --admission-listen=0.0.0.0:9443\$" "$OUT/default.yaml" || { echo "FAIL: no --admission-listen" >&2; exit 1; }
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system \
      --set admissionWebhook.certManager.enabled=true > "$OUT/admission-cm.yaml"
    grep -q "cert-manager.io/inject-ca-from: wok-system/wok-admission" "$OUT/admission-cm.yaml" || { echo "FAIL: no CA injection" >&2; exit 1; }
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system --set admissionWebhook.certManager.enabled=true \
      --set admissionWebhook.certManager.issuerRef.name=corp-ca --set admissionWebhook.certManager.issuerRef.kind=ClusterIssuer \
      > "$OUT/admission-cm-issuer.yaml"
    if grep -q "kind: Issuer" "$OUT/admission-cm-issuer.yaml"; then echo "FAIL: an Issuer beside the admin's" >&2; exit 1; fi
    python3 "$HERE/helm.py" template wok "$CHART" --namespace wok-system --set admissionWebhook.enabled=false > "$OUT/no-admission.yaml"
    if grep -q "admission" "$OUT/no-admission.yaml"; then echo "FAIL: admission objects or flags while disabled" >&2; exit 1; fi
    validate "$OUT/admission-cm.yaml" "$OUT/admission-cm-issuer.yaml" "$OUT/no-admission.yaml"
    ;;
  *)
    echo "usage: check.sh rendered|crds|invalid WOK, or check.sh helm" >&2
    exit 2
    ;;
esac
