#!/bin/sh
# One-shot job (temporalio/admin-tools), once the server is healthy: creates the namespace if it is
# missing and registers the connector's search attributes (an existing one is left as it is).
# Usage: create-namespace.sh NAMESPACE RETENTION NAME=Type [NAME=Type ...]
set -eu
: "${TEMPORAL_ADDRESS:?}"
namespace=$1
retention=$2
shift 2

until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"
  sleep 2
done

if ! temporal operator namespace describe --namespace "$namespace" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  temporal operator namespace create --namespace "$namespace" --retention "$retention" --address "$TEMPORAL_ADDRESS"
fi

existing=$(temporal operator search-attribute list --namespace "$namespace" --address "$TEMPORAL_ADDRESS")
for attribute in "$@"; do
  name=${attribute%%=*}
  type=${attribute#*=}
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$namespace" --name "$name" --type "$type" --address "$TEMPORAL_ADDRESS"
  fi
done
echo "namespace $namespace is ready"
