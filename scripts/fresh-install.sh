#!/usr/bin/env bash
# Installs the built packages into a fresh Debian 12 root and runs stek from the installed files
# as the stek user, the way a new operator would (docs/packaging.md). Needs root (debootstrap,
# chroot) and network for apt; takes minutes, so it is not part of the test suite.
#   scripts/fresh-install.sh [PACKAGES_DIR]     (default: build/packages, see scripts/package.sh)
# The debootstrap base is cached in /tmp/stek-fresh/base (shared with ../shared/tools/fresh-root.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
debs=$(realpath "${1:-build/packages}")
ls "$debs"/stek_*.deb >/dev/null
base=${FRESH_BASE:-/tmp/stek-fresh/base}
if [[ ! -f $base/.done ]]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
  mkdir -p "$base"
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  debootstrap --variant=minbase bookworm "$base" "$mirror" >/tmp/stek-fresh/debootstrap.log 2>&1
  cp /etc/apt/sources.list.d/debian.sources "$base/etc/apt/sources.list.d/"
  rm -f "$base/etc/apt/sources.list"
  touch "$base/.done"
fi
root=$(mktemp -d /tmp/stek-fresh/install-XXXXXX)
cleanup() {
  umount -l "$root/proc" "$root/dev/pts" "$root/dev" "$root/sys" "$root/run" 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT
cp -a "$base/." "$root/"
mkdir -p "$root/srv/debs"
cp "$debs"/*.deb "$root/srv/debs/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n' >"$root/etc/hosts"
mount -t proc proc "$root/proc"; mount --bind /dev "$root/dev"; mount --bind /dev/pts "$root/dev/pts"
mount --bind /sys "$root/sys"; mount -t tmpfs tmpfs "$root/run"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root bash -euo pipefail -c '
step() { printf "\n== %s\n" "$*"; }
step "install (apt resolves the dependencies; no service may start: policy-rc.d is absent on purpose)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
time apt-get install -y -qq --no-install-recommends /srv/debs/stek_*.deb /srv/debs/libstek-dev_*.deb \
  systemd man-db curl >/dev/null
step "the stek user, and postinst again (idempotent)"
id stek
getent passwd stek
/var/lib/dpkg/info/stek.postinst configure 0.1.0 && id stek
step "files"
ls -ld /etc/stek; ls -l /etc/stek /usr/sbin/stekd /usr/bin/stek-agent /usr/bin/stekctl /usr/bin/stek-scan
ls /usr/lib/systemd/system/stek* /usr/share/man/man*/stek* /usr/include/stek/openssl.h \
  /usr/lib/pkgconfig/stek.pc /usr/lib/cmake/stek/stekConfig.cmake
dpkg-query -W -f="conffiles:\${Conffiles}\n" stek
step "nothing enabled, nothing running"
for u in stekd.service stek-agent.service stek-nginx-reload.path; do
  printf "%s: %s\n" "$u" "$(systemctl is-enabled "$u" || true)"
done
grep -L -e "systemctl.*start" -e deb-systemd-invoke /var/lib/dpkg/info/stek.postinst >/dev/null &&
  echo "postinst starts nothing"
step "systemd-analyze verify (man pages included) and security"
systemd-analyze verify /usr/lib/systemd/system/stekd.service \
  /usr/lib/systemd/system/stek-agent.service /usr/lib/systemd/system/stek-nginx-reload.path \
  /usr/lib/systemd/system/stek-nginx-reload.service && echo "verify: ok"
for u in stekd stek-agent stek-nginx-reload; do
  systemd-analyze security --offline=yes /usr/lib/systemd/system/$u.service | tail -n 1
done
man -w stekd stek-agent stekctl stek-scan stek.toml
step "a first start, as stekd.service would run it, as the stek user"
stekctl pki init --dir /etc/stek/pki --host web1=example
chgrp stek /etc/stek/pki /etc/stek/pki/stekd.key && chmod 0750 /etc/stek/pki && chmod 0640 /etc/stek/pki/stekd.key
cp /etc/stek/pki/host-web1.crt /etc/stek/agent.crt
install -m 0640 -g stek /etc/stek/pki/host-web1.key /etc/stek/agent.key
cp /etc/stek/pki/ca.crt /etc/stek/ca.crt
install -m 0400 /etc/stek/pki/kek /etc/stek/kek
# What StateDirectory=, LogsDirectory=, RuntimeDirectory= and LoadCredential= would make.
install -d -o stek -g stek -m 0700 /var/lib/stek /run/credentials/stekd.service
install -d -o stek -g stek -m 0750 /var/log/stek /run/stek
install -m 0400 -o stek /etc/stek/kek /run/credentials/stekd.service/kek
# Ports of their own: the chroot shares the host network, where other stekds may run.
sed -i "s#127.0.0.1:8443#127.0.0.1:28443#; s#127.0.0.1:9464#127.0.0.1:29464#" /etc/stek/stekd.toml
# setpriv execs the program: $! is its process id.
as_stek() { setpriv --reuid=stek --regid=stek --init-groups "$@"; }
setpriv --reuid=stek --regid=stek --init-groups \
  stekd --config /etc/stek/stekd.toml --init >/var/log/stek/stekd.out 2>&1 &
stekd_pid=$!
agent_pid=
# Whatever fails below, nothing started here outlives the script.
stop_all() { kill $stekd_pid $agent_pid 2>/dev/null || true; wait $stekd_pid $agent_pid || true; }
trap stop_all EXIT
for i in $(seq 100); do curl -sf http://127.0.0.1:29464/healthz >/dev/null && break; sleep 0.2; done
curl -s http://127.0.0.1:29464/healthz || { tail -n 20 /var/log/stek/stekd.out; exit 1; }; echo
ps -o user=,comm= -p $stekd_pid
step "an agent from the packaged configuration, as the stek user"
sed -i "s#https://stekd.example.net:8443#https://127.0.0.1:28443#; s#127.0.0.1:9465#127.0.0.1:29465#; s#^nginx_conf = .*##" /etc/stek/stek-agent.toml
as_stek stek-agent --config /etc/stek/stek-agent.toml --check-config
setpriv --reuid=stek --regid=stek --init-groups \
  stek-agent --config /etc/stek/stek-agent.toml >/var/log/stek/agent.out 2>&1 &
agent_pid=$!
for i in $(seq 100); do grep -q ssl_session_ticket_key /run/stek/nginx/tickets.conf 2>/dev/null && break; sleep 0.2; done
ps -o user=,comm= -p $agent_pid
ls -l /run/stek /run/stek/nginx
echo "keys in the nginx include: $(grep -c ssl_session_ticket_key /run/stek/nginx/tickets.conf)"
curl -s http://127.0.0.1:29465/healthz || { tail -n 20 /var/log/stek/agent.out; exit 1; }; echo
stop_all
trap - EXIT
step "purge removes the user and the state"
apt-get purge -y -qq stek libstek-dev >/dev/null
if id stek 2>/dev/null; then echo "stek user still there"; exit 1; fi
echo "stek user gone"; ls /var/lib/stek 2>&1 || true
step "fresh install: done"
'
