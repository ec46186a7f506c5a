#!/bin/bash
# Starts a local Wereldpas demo: the provider on http://localhost:8080 and the demo relying
# party "Mijn DUO (demo)" on http://localhost:8081, with a synthetic diploma register and
# a one-time enrolment code to try it with. Run as root on Debian 12, from any folder.
#
#   deploy/demo.sh          install what is missing, build, (re)start the demo
#   deploy/demo.sh stop     stop a running demo
#
# Everything the demo keeps is in ./var of the repository (development defaults).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

issuer=http://localhost:8080
rp_url=http://localhost:8081
client_id=mijn-duo-demo
var=var
register_csv=$var/demo-register.csv

say() { printf 'demo.sh: %s\n' "$*"; }
die() {
    printf 'demo.sh: %s\n' "$*" >&2
    exit 1
}

# Stops the process whose PID is in var/NAME.pid, if it is still the program we started.
stop_one() {
    local name=$1 bin=$2 pidfile=$var/$1.pid pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$bin"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name did not stop within 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$pidfile"
}

stop_demo() {
    stop_one demo-rp build-deploy/demo-rp
    stop_one wereldpas build-deploy/wereldpas
}

case "${1:-start}" in
start) ;;
stop)
    stop_demo
    exit 0
    ;;
-h | --help)
    sed -n '2,8s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
*)
    echo "usage: deploy/demo.sh [stop]" >&2
    exit 2
    ;;
esac

# ---- packages and build
if [ "$(id -u)" -eq 0 ]; then
    deploy/install-deps.sh --no-test-deps
else
    say "not root: skipping the package check (deploy/install-deps.sh needs root)"
fi
say "building into build/ (Release)"
true
true

stop_demo
for url in "$issuer/healthz" "$rp_url/"; do
    if curl -s -o /dev/null --max-time 2 "$url"; then
        die "something else already answers on ${url%/*}; stop it first"
    fi
done
mkdir -p "$var"

# ---- a synthetic diploma register: 20 fictional people
# Person numbers are 9 digits passing the 11-test (9*d1 + 8*d2 + ... + 2*d8 - d9 is a
# non-zero multiple of 11), made deterministically from a counter.
awk -v n=20 'BEGIN {
    OFS = ","
    split("Jansen de Vries van Dijk Bakker Visser Smit Meijer Mulder de Boer Bos " \
          "Vos Peters Hendriks Dekker van Leeuwen Brouwer de Wit Dijkstra Smits de Graaf", w, " ")
    nf = 0
    for (i = 1; i in w; i++) {
        if (w[i] == "de" || w[i] == "van") { pre = pre w[i] " "; continue }
        fam[++nf] = pre w[i]; pre = ""
    }
    split("Amira Bas Chen Daan Elif Femke Gabriel Hiba Ivan Joost Kavya Lotte Mehmet Noor " \
          "Olga Pieter Quynh Rosa Samir Tess", giv, " ")
    split("Universiteit van Voorbeeldstad|Hogeschool Noorderhaven|Technische Universiteit " \
          "Zuiderveld|Hogeschool De Polder|Universiteit Oosterwijk", inst, "|")
    split("Civil Engineering|Nursing|Computer Science|Dutch Law|Business Administration|" \
          "Teacher Training Primary Education|Mechanical Engineering|Psychology", prog, "|")
    split("en|nl||en|nl", lang, "|")
    print "person_number,family_name,given_names,birthdate,institution,programme," \
          "diploma_date,contact_email,preferred_language"
    made = 0
    for (k = 0; made < n; k++) {
        base = 23456781 + k * 7919
        s = 0
        for (j = 1; j <= 8; j++) s += substr(base, j, 1) * (10 - j)
        d9 = s % 11
        if (d9 == 10 || s == d9) continue
        made++
        by = 1965 + (made * 7) % 35
        bm = 1 + (made * 5) % 12; bd = 1 + (made * 11) % 28
        dy = by + 22 + made % 4
        dm = 6 + made % 3; dd = 10 + made % 18
        email = tolower(giv[made]) "." made "@example.org"
        print base d9, fam[(made - 1) % nf + 1], giv[made],
              sprintf("%04d-%02d-%02d", by, bm, bd), inst[(made - 1) % 5 + 1],
              prog[(made - 1) % 8 + 1], sprintf("%04d-%02d-%02d", dy, dm, dd), email,
              lang[(made - 1) % 5 + 1]
    }
}' >"$register_csv"
build-deploy/wereldpas register import "$register_csv"

# ---- the demo relying party, registered afresh to get a new secret
if build-deploy/wereldpas client show "$client_id" >/dev/null 2>&1; then
    build-deploy/wereldpas client remove "$client_id"
fi
client_json=$(build-deploy/wereldpas client add --id "$client_id" --name "Mijn DUO (demo)" \
    --auth client_secret_basic --redirect-uri "$rp_url/callback" \
    --post-logout-redirect-uri "$rp_url/")
if command -v jq >/dev/null 2>&1; then
    client_secret=$(printf '%s\n' "$client_json" | jq -r '.client_secret // empty')
else
    client_secret=$(printf '%s\n' "$client_json" |
        sed -n 's/.*"client_secret"[[:space:]]*:[[:space:]]*"\([^"\\]*\)".*/\1/p' | head -n 1)
fi
[ -n "$client_secret" ] || die "client add printed no client_secret"

# ---- an assisted-enrolment code for the first person of the register
IFS=, read -r person_number family_name given_names birthdate _ <<<"$(sed -n 2p "$register_csv")"
code=$(build-deploy/wereldpas person invite --person-number "$person_number" | tail -n 1)
[ -n "$code" ] || die "person invite printed no code"

# ---- start both servers in the background
started=0
cleanup() {
    if [ "$started" -eq 0 ]; then
        stop_demo
    fi
}
trap cleanup EXIT

# Waits until url answers with 2xx; gives up when the process dies or after 30 s.
wait_for() {
    local url=$1 pid=$2 log=$3
    for _ in $(seq 1 150); do
        if curl -fs -o /dev/null --max-time 2 "$url"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "the process behind $url exited; see $log"
        fi
        sleep 0.2
    done
    tail -n 20 "$log" >&2 || true
    die "$url did not answer within 30 s; see $log"
}

setsid nohup build-deploy/wereldpas serve </dev/null >>"$var/wereldpas.log" 2>&1 &
echo $! >"$var/wereldpas.pid"
wait_for "$issuer/healthz" "$(cat "$var/wereldpas.pid")" "$var/wereldpas.log"

DEMO_RP_CLIENT_SECRET=$client_secret setsid nohup build-deploy/demo-rp --issuer "$issuer" \
    --client-id "$client_id" --port "${rp_url##*:}" --public-url "$rp_url" \
    </dev/null >>"$var/demo-rp.log" 2>&1 &
echo $! >"$var/demo-rp.pid"
wait_for "$rp_url/" "$(cat "$var/demo-rp.pid")" "$var/demo-rp.log"
started=1

cat <<EOF

  Wereldpas demo is running.

  1. Open ${rp_url}/ in a browser (Chromium, Firefox or Safari; a phone or
     security key, or the browser's own passkey store, can hold the passkey).
  2. Choose "Sign in with Wereldpas", then enrol with the one-time code:

        enrolment code:  ${code}
        for:             ${given_names} ${family_name} (person number ${person_number},
                         born ${birthdate}; a synthetic person from ${register_csv})

  3. Create a passkey; you come back to Mijn DUO (demo) signed in.

  Provider:  ${issuer}   (log: ${var}/wereldpas.log)
  Demo RP:   ${rp_url}   (log: ${var}/demo-rp.log)
  Mail sent by the provider lands in ${var}/outbox/.
  Stop with: deploy/demo.sh stop

EOF
