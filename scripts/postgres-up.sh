#!/usr/bin/env bash
# Makes sure the machine's PostgreSQL answers on 127.0.0.1:5432 with the
# database "test", starting the cluster if it is down. Used by .ci/run and by
# developers before `go test` with FLEXAPI_TEST_POSTGRES_URL.
set -euo pipefail

answers() { pg_isready -q -h 127.0.0.1 -p 5432; }

if ! command -v pg_isready >/dev/null; then
  echo "postgres-up: PostgreSQL's client tools are not installed; installing them and the server"
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
if ! answers; then
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
fi
for _ in $(seq 1 30); do
  answers && break
  sleep 1
done
answers || { echo "postgres-up: PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 ||
  psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
echo "postgres-up: PostgreSQL $(psql -h 127.0.0.1 -U postgres -tAc 'SHOW server_version') answers on 127.0.0.1:5432"
