#!/bin/sh
# Whole-process unlock cost on loopback, next to its floor and to Clevis+Tang.
#
#   bench/unlock.sh [RUNS]        (default 30 runs per command; O=build)
#
# All four unlock the same kind of image: a LUKS2 image file made with
# libcryptsetup (test_guest_luks mkimage), the unlocking keyslot PBKDF2 at
# 1000 iterations (what ccunlock enroll and clevis luks bind both use). There
# is no device-mapper here, so nothing is activated; each command proves the
# key opens the keyslot:
#
#   ccunlock      ccunlock unlock --test IMG NAME (test build, simulator evidence,
#                 the real ccunlock-kbs over TLS on 127.0.0.1: /auth, report,
#                 /attest with the broker's full AMD-chain verification, resource
#                 GET, JWE decrypt, crypt_activate_by_passphrase(NULL) on the slot)
#   floor         cryptsetup open --test-passphrase --key-slot 1 --key-file KEY IMG
#                 (the same image and keyslot with the right key: the LUKS cost alone)
#   clevis        what `clevis luks unlock -d IMG` does, minus activation:
#                 clevis_luks_unlock_device (tang decrypt of each bound slot's JWE)
#                 then `cryptsetup open -d-` turned into `--test-passphrase -d-`
#                 (no --key-slot: cryptsetup tries the keyslots in order, as it does)
#   clevis-pinned clevis luks unlock -d IMG -t SLOT (decrypt, then test that slot only)
#
# tangd runs on 127.0.0.1 behind socat (one tangd per connection, as its
# socket unit does). Wall time: hyperfine (median of RUNS, 2 warm-up runs).
# Peak memory: the largest maximum RSS of any process of one run
# (getrusage RUSAGE_CHILDREN after the run; /usr/bin/time -v reports the same
# for the top process only).
set -eu
RUNS=${1:-30}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
O=${O:-build}
PATH=$PATH:/usr/sbin:/sbin
KBS=${CCU_KBS:-$O/ccunlock-kbs}
SIM=$O/test/ccunlock-sim
CCU=$O/test/ccunlock
MKIMG=$O/tests/test_guest_luks

need() {
	command -v "$1" >/dev/null 2>&1 || {
		echo "bench/unlock.sh: $1 missing (tools/deps.sh bench)" >&2
		exit 2
	}
}
for t in hyperfine cryptsetup clevis socat openssl python3 /usr/libexec/tangd; do need "$t"; done
for f in "$CCU" "$SIM" "$MKIMG"; do
	[ -x "$f" ] || {
		echo "bench/unlock.sh: $f missing (make test-bins)" >&2
		exit 2
	}
done
"$KBS" serve --help >/dev/null 2>&1 || {
	echo "bench/unlock.sh: $KBS cannot serve (set CCU_KBS)" >&2
	exit 2
}

T=$(mktemp -d /tmp/ccu-bench-XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- broker
# shellcheck source=../tests/lib/tls.sh
. tests/lib/tls.sh
# shellcheck source=../tests/lib/broker.sh
. tests/lib/broker.sh
ccu_make_tls "$T" || { echo "bench/unlock.sh: openssl failed" >&2; exit 1; }
ccu_broker_conf "$T"
"$SIM" init "$T/sim" >/dev/null
"$KBS" admin-keygen --out "$T/admin" >/dev/null
"$KBS" init --config "$T/broker.conf" >/dev/null
printf 'measurement = any\n' >"$T/open.policy"
"$KBS" policy set open "$T/open.policy" --config "$T/broker.conf" >/dev/null
"$KBS" serve --config "$T/broker.conf" 2>"$T/serve.log" &
PIDS="$PIDS $!"
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$T/port")

# ---------------------------------------------------------------- tang
mkdir -p "$T/tang"
/usr/libexec/tangd-keygen "$T/tang" >/dev/null 2>&1
TPORT=$(free_port)
socat "TCP-LISTEN:$TPORT,bind=127.0.0.1,reuseaddr,fork" "EXEC:/usr/libexec/tangd $T/tang" \
	2>/dev/null &
PIDS="$PIDS $!"
sleep 0.3

# ---------------------------------------------------------------- images
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/pass"
"$MKIMG" mkimage "$T/ccu.img" "$T/pass"
"$MKIMG" mkimage "$T/clevis.img" "$T/pass"
cat >"$T/guest.conf" <<CONF
broker_url = https://127.0.0.1:$PORT
broker_ca = $T/ca.pem
evidence = simulator
simulator_dir = $T/sim
CONF
printf 'root=/dev/vda1 ro quiet\n' >"$T/cmdline"
CCUC="$CCU --config $T/guest.conf --cmdline $T/cmdline"
$CCUC enroll "$T/ccu.img" --resource bench/luks/root --admin-key "$T/admin.key" \
	--policy open --existing-key-file "$T/pass" >/dev/null 2>&1
CRYPTTAB_SOURCE="$T/ccu.img" $CCUC keyscript >"$T/ccu.key" 2>/dev/null
clevis luks bind -y -k "$T/pass" -d "$T/clevis.img" tang "{\"url\":\"http://127.0.0.1:$TPORT\"}" \
	>/dev/null 2>&1
CSLOT=$(clevis luks list -d "$T/clevis.img" | sed -n 's/^\([0-9]*\): tang.*/\1/p' | head -n 1)
[ -n "$CSLOT" ] || { echo "clevis luks bind failed" >&2; exit 1; }

cat >"$T/clevis-unlock.sh" <<SH
#!/bin/bash
# clevis luks unlock -d IMG, with "cryptsetup open -d- IMG NAME" as --test-passphrase.
set -e
. clevis-luks-common-functions
pt=\$(clevis_luks_unlock_device "$T/clevis.img")
echo -n "\$pt" | cryptsetup open --test-passphrase -d- "$T/clevis.img"
SH
chmod +x "$T/clevis-unlock.sh"

CMD_CCU="$CCUC unlock --test $T/ccu.img bench"
CMD_FLOOR="cryptsetup open --test-passphrase --key-slot 1 --key-file $T/ccu.key $T/ccu.img"
CMD_CLEVIS="$T/clevis-unlock.sh"
CMD_PINNED="clevis luks unlock -d $T/clevis.img -t $CSLOT"
for c in "$CMD_CCU" "$CMD_FLOOR" "$CMD_CLEVIS" "$CMD_PINNED"; do
	sh -c "$c" >/dev/null 2>&1 || { echo "bench/unlock.sh: fails: $c" >&2; exit 1; }
done

hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$T/h.json" \
	-n ccunlock "$CMD_CCU" -n floor "$CMD_FLOOR" -n clevis "$CMD_CLEVIS" \
	-n clevis-pinned "$CMD_PINNED" >"$T/hyperfine.txt" 2>&1 ||
	{ cat "$T/hyperfine.txt" >&2; exit 1; }

# Peak RSS of one run (the largest process), median over 5 runs.
peak() {
	python3 - "$@" <<'PY'
import resource, statistics, subprocess, sys
vals = []
for _ in range(5):
    code = ("import resource,subprocess,sys;"
            "subprocess.run(sys.argv[1],shell=True,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, sys.argv[1]], capture_output=True, text=True)
    vals.append(int(out.stdout.strip()))
print(int(statistics.median(vals)))
PY
}
M_CCU=$(peak "$CMD_CCU")
M_FLOOR=$(peak "$CMD_FLOOR")
M_CLEVIS=$(peak "$CMD_CLEVIS")
M_PINNED=$(peak "$CMD_PINNED")

python3 - "$T/h.json" "$M_CCU" "$M_FLOOR" "$M_CLEVIS" "$M_PINNED" "$RUNS" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
mem = dict(zip(["ccunlock", "floor", "clevis", "clevis-pinned"], map(int, sys.argv[2:6])))
med = {r["command"]: r["median"] * 1000 for r in h["results"]}
sd = {r["command"]: r["stddev"] * 1000 for r in h["results"]}
print(f"unlock on 127.0.0.1, {sys.argv[6]} runs each (median wall, peak RSS of the largest process)")
print(f"{'':15s}{'median ms':>11s}{'stddev':>9s}{'peak RSS KiB':>14s}{'x floor':>9s}")
for k in ["ccunlock", "floor", "clevis", "clevis-pinned"]:
    print(f"{k:15s}{med[k]:11.1f}{sd[k]:9.1f}{mem[k]:14d}{med[k] / med['floor']:9.1f}")
print(f"ratios: ccunlock/clevis {med['ccunlock'] / med['clevis']:.2f}, "
      f"ccunlock/clevis-pinned {med['ccunlock'] / med['clevis-pinned']:.2f}, "
      f"ccunlock/floor {med['ccunlock'] / med['floor']:.1f}, "
      f"ccunlock RSS/clevis RSS {mem['ccunlock'] / mem['clevis']:.2f}")
PY
