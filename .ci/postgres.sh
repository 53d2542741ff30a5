# Starts the local PostgreSQL 15 cluster if it is down and creates the test role and database.
# Sourced by .ci/run; sets ROTOR_TEST_POSTGRES_URL. Usable by hand: `source .ci/postgres.sh`.
pg_ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1)
pg_ver=${pg_ver:-15}
if ! pg_lsclusters -h 2>/dev/null | awk '{print $4}' | grep -q online; then
  pg_ctlcluster "$pg_ver" main start
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='rotor'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role rotor login password 'rotor' createdb\""
su postgres -c "psql -qAtc \"select 1 from pg_database where datname='rotor_test'\"" | grep -q 1 ||
  su postgres -c "psql -qc 'create database rotor_test owner rotor'"
export ROTOR_TEST_POSTGRES_URL=${ROTOR_TEST_POSTGRES_URL:-postgres://rotor:rotor@127.0.0.1:5432/rotor_test}
