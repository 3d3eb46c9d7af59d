#!/usr/bin/env bash
# Two Tessera nodes sharing one PostgreSQL (sessions, keys) and one Redis (revocation fan-out, rate
# limits), as containers: what runs behind a load balancer. Compose-style, with plain `podman run`:
# Debian's podman-compose (1.0.3) adds a bridge network to every container, which podman refuses
# next to `network_mode: host`, and the nodes need the host's network to reach a PostgreSQL and a
# Redis that listen on 127.0.0.1.
#   TESSERA_API_KEY=tsk_… container/two-nodes.sh up      start both nodes (build the image first)
#   container/two-nodes.sh down [--volumes]              stop them (SIGTERM), remove their volumes too
# Settings, from the environment:
#   TESSERA_API_KEY       the management API key, at least 32 characters (required by `up`)
#   TESSERA_IMAGE         default localhost/tessera-server:<version of @tessera/server>
#   TESSERA_PROJECT       prefix of the container and volume names (default tessera)
#   DATABASE_URL          default postgres://postgres@127.0.0.1:5432/postgres
#   REDIS_URL             default redis://127.0.0.1:6379;  TESSERA_REDIS_PREFIX default tessera:
#   TESSERA_ISSUER        the public URL both nodes name as issuer (default http://localhost:4000)
#   TESSERA_HOST          interface the nodes listen on (default 0.0.0.0)
#   TESSERA_PORT_A, _B    their ports (default 4001, 4002): the load balancer's upstreams
# Tested by packages/example/test/container.test.ts.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(node -p "require('$here/../packages/server/package.json').version")"
project="${TESSERA_PROJECT:-tessera}"

case "${1:-}" in
  up)
    : "${TESSERA_API_KEY:?set TESSERA_API_KEY, at least 32 characters}"
    export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
    export TESSERA_REDIS_PREFIX="${TESSERA_REDIS_PREFIX:-tessera:}"
    export TESSERA_ISSUER="${TESSERA_ISSUER:-http://localhost:4000}"
    export HOST="${TESSERA_HOST:-0.0.0.0}"
    export TESSERA_API_KEY
    for node in a b; do
      port_variable="TESSERA_PORT_${node^^}"
      default_port=$([ "$node" = a ] && echo 4001 || echo 4002)
      # Values travel as `-e NAME` (taken from this environment), so that `ps` never shows the key.
      PORT="${!port_variable:-$default_port}" podman run --detach --name "$project-$node" --network host --restart unless-stopped \
        --volume "$project-$node:/var/lib/tessera" \
        -e DATABASE_URL -e REDIS_URL -e TESSERA_REDIS_PREFIX -e TESSERA_API_KEY -e TESSERA_ISSUER -e HOST -e PORT \
        "${TESSERA_IMAGE:-localhost/tessera-server:$version}" serve
    done
    ;;
  down)
    for node in a b; do podman rm --force --ignore --time 20 "$project-$node" >/dev/null; done
    if [ "${2:-}" = --volumes ]; then
      for node in a b; do podman volume rm --force "$project-$node" >/dev/null 2>&1 || true; done
    fi
    ;;
  *)
    echo "usage: $0 up | down [--volumes]" >&2
    exit 2
    ;;
esac
