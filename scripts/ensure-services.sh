#!/usr/bin/env bash
# Starts the local MariaDB (127.0.0.1:3306) and Redis (127.0.0.1:6379) the tests use when they are
# down, and installs the system packages the tests need (systemd-analyze for the unit checks;
# galera-4, rsync and redis-server for the cluster suite) when they are missing and we are root.
set -euo pipefail

mysql_up() { mariadb-admin --host=127.0.0.1 --user=root ping >/dev/null 2>&1 || mysqladmin --host=127.0.0.1 --user=root ping >/dev/null 2>&1; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
wait_for() { # name, check-function, seconds
  for _ in $(seq 1 "$3"); do "$2" && return 0; sleep 1; done
  echo "$1 did not come up within $3 s" >&2
  return 1
}

if ! mysql_up; then
  echo "MariaDB is not reachable on 127.0.0.1:3306: starting it"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for MariaDB mysql_up 60
fi
if ! redis_up; then
  echo "Redis is not reachable on 127.0.0.1:6379: starting it"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  wait_for Redis redis_up 30
fi

missing=()
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
ls /usr/lib/galera/libgalera_smm.so /usr/lib/libgalera_smm.so >/dev/null 2>&1 || [ -n "$(ls /usr/lib/*/galera*/libgalera_smm.so 2>/dev/null)" ] || missing+=(galera-4)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${missing[*]} (needed by the tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || echo "could not install ${missing[*]}: the tests that need them will fail and say so" >&2
  else
    echo "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or the tests that need them fail" >&2
  fi
fi
