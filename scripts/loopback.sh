#!/bin/sh
# Run a command in a private network namespace that has only loopback, so that every server,
# cluster and browser it starts can listen on nothing else (Ray binds every interface it sees).
# Needs root, unshare (util-linux) and ip (iproute2, installed here with apt when missing).
# Without them the command runs as it is, and the tests that start Ray skip themselves.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
    if ! command -v ip >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
        (apt-get update -qq && apt-get install -y -qq iproute2) >/dev/null 2>&1
    fi
    if command -v ip >/dev/null 2>&1; then
        exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
    fi
fi
echo "note: no loopback-only network namespace (needs root, unshare and ip):" \
     "the tests that start Ray are skipped" >&2
exec "$@"
