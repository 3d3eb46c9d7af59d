#!/usr/bin/env bash
# Builds the Tessera server image with podman, offline from any image registry:
#   container/build.sh [IMAGE]            (default localhost/tessera-server:<version of @tessera/server>)
# 1. The base: a Debian bookworm minbase made with debootstrap from the Debian mirror and imported
#    as $BASE_IMAGE, once (about 5 min here; later builds reuse it). Set BASE_IMAGE to use another.
# 2. The context: `npm pack` of packages/verifier and packages/server, this machine's Node 20 (the
#    node binary and npm), and this checkout's better-sqlite3 binary when it was built for that Node.
# 3. podman build of container/Containerfile (about 2 min here, most of it npm install).
# Needs podman, runc and debootstrap (`.ci/run` installs them). Prints the image name last.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
version="$(node -p "require('$root/packages/server/package.json').version")"
image="${1:-localhost/tessera-server:$version}"
base="${BASE_IMAGE:-localhost/tessera-debian-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

command -v podman >/dev/null || { echo "podman is not installed (.ci/run installs it with runc and debootstrap)" >&2; exit 1; }
if ! podman image exists "$base"; then
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed; it makes the base image $base" >&2; exit 1; }
  echo "building the base image $base with debootstrap from $mirror" >&2
  rootfs="$(mktemp -d /tmp/tessera-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >&2
  # The package lists and the .deb files only make the image larger.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$base" >&2
  rm -rf "$rootfs"
  trap - EXIT
fi

context="$(mktemp -d /tmp/tessera-image.XXXXXX)"
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/tarballs" "$context/node/bin" "$context/node/lib/node_modules" "$context/prebuilds" "$context/ca"
for package in verifier server; do
  # `npm pack` runs the package's prepack (its build), as `npm publish` would.
  (cd "$root/packages/$package" && npm pack --silent --pack-destination "$context/tarballs" >/dev/null)
done

node_bin="$(command -v node)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then echo "Node 20 or later is needed to build the image, not $(node --version)" >&2; exit 1; fi
cp "$(readlink -f "$node_bin")" "$context/node/bin/node"
npm_dir="$(npm root -g)/npm"
cp -a "$npm_dir" "$context/node/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$context/node/bin/npm"

# No prebuilt better-sqlite3 can be downloaded here and building one from source needs a C toolchain
# in the image (minutes): offer this checkout's binary when the versions match, as the tarball test does.
sqlite="$root/node_modules/better-sqlite3"
if [ -f "$sqlite/build/Release/better_sqlite3.node" ]; then
  sqlite_version="$(node -p "require('$sqlite/package.json').version")"
  abi="$(node -p 'process.versions.modules + "-" + process.platform + "-" + process.arch')"
  tar czf "$context/prebuilds/better-sqlite3-v$sqlite_version-node-v$abi.tar.gz" -C "$sqlite" build/Release/better_sqlite3.node
fi

# The project the tarballs are installed into (see the Containerfile).
node - "$root/package.json" "$context/prebuilds" > "$context/package.json" <<'JS'
const { readFileSync, readdirSync } = require('node:fs');
const [rootManifest, prebuilds] = process.argv.slice(2); // after node and "-"
const { overrides = {} } = JSON.parse(readFileSync(rootManifest, 'utf8'));
const prebuilt = readdirSync(prebuilds).map((name) => /^better-sqlite3-v(.+?)-node-/.exec(name)?.[1]).find(Boolean);
const manifest = {
  name: 'tessera-image',
  private: true,
  type: 'module',
  overrides: { ...overrides, ...(prebuilt ? { 'better-sqlite3': prebuilt } : {}) },
  allowScripts: { 'better-sqlite3': true },
};
process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
JS

# Where npm reaches its registry through a TLS-intercepting proxy, the build stage needs that CA too.
ca_file="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
if [ -n "$ca_file" ] && [ "$ca_file" != null ] && [ -f "$ca_file" ]; then cp "$ca_file" "$context/ca/extra.pem"; fi

# npm's cache is lent to the build stage (it is not part of any layer): a rebuild downloads nothing.
# No layer cache (--layers=false): each build would otherwise leave a build-stage image behind.
npm_cache="$(npm config get cache)"
mkdir -p "$npm_cache"
podman build --layers=false --build-arg "BASE=$base" --volume "$npm_cache:/root/.npm" --tag "$image" --file "$here/Containerfile" "$context" >&2
echo "$image"
