#!/bin/sh
# Runs once, when the compose PostgreSQL first initialises its data volume: the sohoa
# catalog gets a database and a role of its own beside Prefect's (password from the
# catalog_password secret, never from the compose file).
set -eu
password="$(cat "${CATALOG_PASSWORD_FILE:-/run/secrets/catalog_password}")"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v pw="$password" <<'SQL'
CREATE ROLE sohoa LOGIN PASSWORD :'pw';
CREATE DATABASE sohoa OWNER sohoa;
SQL
