#!/usr/bin/env bash
# Start a local PostgreSQL for propscope's store tests, listening on 127.0.0.1 only.
#
# Installs Debian's postgresql package if it is missing, creates/starts a cluster without systemd
# (pg_ctlcluster, as root in a container), creates role `propscope` (password `propscope`) and
# database `propscope_test`, waits until the server accepts connections and prints the URL for
# PROPSCOPE_TEST_PG_URL. Safe to run twice: every step checks before it acts.
#
#   export PROPSCOPE_TEST_PG_URL="$(scripts/start-postgres.sh | tail -n 1)"
set -euo pipefail

PORT="${PROPSCOPE_PG_PORT:-5432}"
ROLE="propscope"
PASSWORD="propscope"
DATABASE="${PROPSCOPE_PG_DATABASE:-propscope_test}"
CLUSTER="main"

log() { echo "start-postgres: $*" >&2; }

as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

install_postgres() {
    if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
        log "installing PostgreSQL from Debian packages"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
}

ensure_cluster() {
    VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
        log "creating cluster $VERSION/$CLUSTER on port $PORT"
        pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >/dev/null
    fi
    pg_conftool "$VERSION" "$CLUSTER" set port "$PORT"
    # Loopback only: the test server must never be reachable from the network. A conf.d file
    # (Debian's postgresql.conf includes conf.d/) because pg_conftool writes 127.0.0.1 unquoted.
    local confd="/etc/postgresql/$VERSION/$CLUSTER/conf.d"
    install -d -o postgres -g postgres "$confd"
    printf "listen_addresses = '127.0.0.1'\n" >"$confd/propscope-loopback.conf"
}

start_cluster() {
    local status
    status="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}')"
    if [ "$status" != online ]; then
        log "starting cluster $VERSION/$CLUSTER"
        # Without systemd pg_ctlcluster runs pg_ctl itself; the socket dir may be missing in a
        # fresh container.
        install -d -o postgres -g postgres -m 2775 /var/run/postgresql
        pg_ctlcluster "$VERSION" "$CLUSTER" start
    fi
    for _ in $(seq 1 60); do
        if pg_isready -q -h 127.0.0.1 -p "$PORT"; then return 0; fi
        sleep 0.5
    done
    log "PostgreSQL did not become ready on 127.0.0.1:$PORT; see /var/log/postgresql/"
    exit 1
}

psql_admin() { as_postgres psql -X -q -p "$PORT" -v ON_ERROR_STOP=1 -tA "$@"; }

ensure_role_and_database() {
    if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
        log "creating role $ROLE"
        psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
    fi
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
        log "creating database $DATABASE"
        psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE"
    fi
}

if [ "$(id -u)" != 0 ]; then
    log "run as root (it installs packages and starts the server as the postgres user)"
    exit 1
fi
install_postgres
ensure_cluster
start_cluster
ensure_role_and_database
echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
