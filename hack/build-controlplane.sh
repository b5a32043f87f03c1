#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) from Go modules into bin/.
#
# Idempotent: each wrapper module is rebuilt only when its go.mod/go.sum (the pinned
# versions) or this script change; the stamp lives next to the binaries. Go's own build
# cache (GOCACHE) makes a rebuild after a stamp change cheap.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="${XEEM_BIN_DIR:-$root/bin}"
src="$root/hack/controlplane"
mkdir -p "$bin"

export CGO_ENABLED=0 GOFLAGS=-mod=mod

stamp_of() { cat "$src/$1/go.mod" "$src/$1/go.sum" "$0" | sha256sum | cut -c1-16; }

up_to_date() { # module binaries...
  local module=$1; shift
  [ "$(cat "$bin/.stamp-$module" 2>/dev/null)" = "$(stamp_of "$module")" ] || return 1
  for b in "$@"; do [ -x "$bin/$b" ] || return 1; done
}

build() { # module ldflags packages...
  local module=$1 ldflags=$2; shift 2
  local names=()
  for p in "$@"; do names+=("$(basename "$p")"); done
  if up_to_date "$module" "${names[@]}"; then
    echo "controlplane: $module up to date (${names[*]})"
    return
  fi
  echo "controlplane: building ${names[*]} from $module"
  local start=$SECONDS
  (cd "$src/$module" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/" "$@")
  stamp_of "$module" > "$bin/.stamp-$module"
  echo "controlplane: built ${names[*]} in $((SECONDS - start))s"
}

module_version() { # module path
  awk -v m="$2" '$1 == m || ($1 == "require" && $2 == m) { print ($1 == m ? $2 : $3); exit }' "$src/$1/go.mod"
}

kube_version=$(module_version kubernetes k8s.io/kubernetes)
kube_minor=$(echo "$kube_version" | cut -d. -f2)
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build etcd "" xeem.io/hack/controlplane/etcd
build kubernetes "$kube_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubectl
build kwok "" sigs.k8s.io/kwok/cmd/kwok
