#!/bin/sh
# One-shot job (temporalio/admin-tools): creates Temporal's two databases on PostgreSQL and brings
# their schemas up to date. Safe to re-run on every `docker compose up`: a database that exists is
# kept, and update-schema applies only versions not applied yet.
set -eu
: "${POSTGRES_SEEDS:?}" "${DB_PORT:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" "$@"
}

for store in temporal:temporal visibility:temporal_visibility; do
  schema=${store%%:*}
  database=${store#*:}
  # Fails harmlessly when the database exists; a real connection problem fails setup-schema next.
  sql_tool --db "$database" create-database || echo "database $database exists"
  sql_tool --db "$database" setup-schema -v 0.0
  sql_tool --db "$database" update-schema -d "$SCHEMA_ROOT/$schema/versioned"
done
echo "Temporal schemas are up to date"
