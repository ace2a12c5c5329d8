#!/usr/bin/env bash
# Install (Debian, as root) and start what the test suite talks to: PostgreSQL, Redis,
# Chromium, Squid, squidGuard and Unbound. Idempotent; prints what it does.
# Without root it only reports what is missing and leaves the machine alone.
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1 || [[ -x "$1" ]]; }
have psql || need_pkgs+=(postgresql postgresql-client)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_pkgs+=(postgresql)
have redis-server || need_pkgs+=(redis-server)
have /usr/bin/chromium || need_pkgs+=(chromium)
have /usr/sbin/squid || need_pkgs+=(squid)
have /usr/bin/squidGuard || need_pkgs+=(squidguard)
have /usr/sbin/unbound || need_pkgs+=(unbound)
have curl || need_pkgs+=(curl)

as_root=0; [[ $(id -u) -eq 0 ]] && as_root=1

if ((${#need_pkgs[@]})); then
  if ((as_root)); then
    echo "ensure-services: installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "ensure-services: missing ${need_pkgs[*]} (run as root to install)" >&2
  fi
fi

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_ready && ((as_root)); then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z $version ]]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    pg_createcluster "$version" main >/dev/null
  fi
  echo "ensure-services: starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
if pg_ready && ((as_root)); then
  # A superuser role for the test harness (it creates and drops its own databases).
  sql="DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='childsafe') THEN
       CREATE ROLE childsafe LOGIN SUPERUSER PASSWORD 'childsafe'; END IF; END\$\$;"
  runuser -u postgres -- psql -q -c "$sql" >/dev/null 2>&1 \
    || psql -h 127.0.0.1 -U postgres -q -c "$sql" >/dev/null 2>&1 \
    || echo "ensure-services: could not create the childsafe role" >&2
fi
pg_ready || echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && have redis-server; then
  echo "ensure-services: starting Redis"
  mkdir -p /tmp/childsafe-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/childsafe-redis --logfile /tmp/childsafe-redis/redis.log || true
fi
exit 0
