#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The packages, end to end (minutes; 'make check-packages', and CI):
#  1. dpkg-buildpackage -b builds deepactifd, deepactif-bridge, libdeepactif0 and
#     libdeepactif-dev from the release tarball; lintian reports no error;
#  2. rpmbuild -tb builds the RPMs from the same tarball (--nodeps: Debian
#     cannot satisfy RPM build dependencies);
#  3. the .debs install: the system user exists, a program builds against
#     libdeepactif with pkg-config, the catalogue makes the client German;
#  4. the installed daemon, as user deepactif with its default model and
#     database, replays the shipped sample on a private bus, and the
#     installed client reads its status and a ranking over D-Bus and varlink;
#  5. purging leaves none of the packages' files, no state or runtime
#     directory and no configuration directory behind.
#
# Usage: tests/test-packages.sh deepactif-VERSION.tar.xz
set -euo pipefail

tarball=$(realpath "${1:?usage: $0 deepactif-VERSION.tar.xz}")
fail=0
bad() { echo "FAIL: $*"; fail=1; }
step() { echo "== $*"; }

for tool in dpkg-buildpackage dh lintian rpmbuild fakeroot dbus-daemon setpriv gcc pkg-config; do
        if ! command -v "$tool" >/dev/null; then
                echo "SKIP: $tool is missing (apt-get install debhelper lintian rpm fakeroot dbus util-linux)"
                exit 77
        fi
done
if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: installing packages needs root"
        exit 77
fi
packages=(deepactifd deepactif-bridge libdeepactif0 libdeepactif-dev)
for p in "${packages[@]}"; do
        if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
                echo "FAIL: $p is already installed; this test installs and purges it (dpkg --purge $p)"
                exit 1
        fi
done

tmp=$(mktemp -d /tmp/deepactif-packages.XXXXXX)
pids=()
cleanup() {
        for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
        dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true
        rm -rf "$tmp"
}
trap cleanup EXIT

step "Debian packages"
# Built once per source contents, shared with the system test
# (tests/vm-system/run.sh) through the cache in the build tree.
debdir=$("$(dirname "$0")/build-debs.sh" "$tarball" "$(dirname "$tarball")/tests/debs-cache") || exit 1
cp "$debdir"/*.deb "$debdir"/*.changes "$debdir"/*.buildinfo "$tmp/"
ls "$tmp"/*.deb
lintian "$tmp"/*.changes >"$tmp/lintian.log" 2>&1 || true
grep -v 'running with root privileges' "$tmp/lintian.log" || true
errors=$(grep -c '^E: ' "$tmp/lintian.log" || true)
echo "lintian: $errors error(s), $(grep -c '^W: ' "$tmp/lintian.log" || true) warning(s)"
[ "$errors" -eq 0 ] || bad "lintian reports errors"

step "RPM packages"
mkdir -p "$tmp/rpm"
if rpmbuild -tb --nodeps --define "_topdir $tmp/rpm" "$tarball" >"$tmp/rpm.log" 2>&1; then
        find "$tmp/rpm/RPMS" -name '*.rpm'
        for p in deepactif deepactif-libs deepactif-devel; do
                ls "$tmp"/rpm/RPMS/*/"$p"-[0-9]*.rpm >/dev/null 2>&1 || bad "rpmbuild made no $p package"
        done
else
        tail -30 "$tmp/rpm.log"
        bad "rpmbuild -tb"
fi

step "Install"
debs=()
for p in "${packages[@]}"; do debs+=("$(ls "$tmp"/"$p"_*.deb)"); done
if ! dpkg -i "${debs[@]}" >"$tmp/install.log" 2>&1; then
        cat "$tmp/install.log"
        echo "FAIL: dpkg -i"
        exit 1
fi
for p in "${packages[@]}"; do dpkg -L "$p"; done | sort -u >"$tmp/files"
getent passwd deepactif >/dev/null || bad "no user deepactif after installing"
getent group deepactif-uinput >/dev/null || bad "no group deepactif-uinput after installing deepactif-bridge"
/usr/sbin/deepactif-bridge --help | grep -q -- --pupil || bad "the installed deepactif-bridge does not run"
[ "$(stat -c %U /var/lib/deepactif 2>/dev/null)" = deepactif ] || bad "/var/lib/deepactif is not deepactif's"
printf '#include <deepactif.h>\nint main(void) { da_model *m = NULL; da_model_free(m); return 0; }\n' >"$tmp/use.c"
# shellcheck disable=SC2046
gcc -o "$tmp/use" "$tmp/use.c" $(pkg-config --cflags --libs libdeepactif) && "$tmp/use" ||
        bad "a program does not build and run against the installed libdeepactif"
LC_ALL=C.UTF-8 LANGUAGE=de deepactifctl --help | grep -q '^Aufruf:' || bad "the installed client is not German with LANGUAGE=de"

step "Run the installed daemon on a private bus"
as_user() { setpriv --reuid=deepactif --regid=deepactif --init-groups -- "$@"; }
run=$tmp/run
mkdir -p "$run"
chown deepactif: "$run"
chmod 755 "$tmp"
read -r bus bus_pid < <(as_user dbus-daemon --session --fork --print-address=1 --print-pid=1 --nopidfile | paste -sd' ')
pids+=("$bus_pid")
export DBUS_SESSION_BUS_ADDRESS=$bus
as_user env DBUS_SESSION_BUS_ADDRESS="$bus" /usr/sbin/deepactifd --user --varlink="$run/varlink" \
        --replay=/usr/share/deepactif/data/sample.tsv.gz --speed=20 --loop >"$tmp/daemon.log" 2>&1 &
pids+=("$!")
ctl() { as_user env DBUS_SESSION_BUS_ADDRESS="$bus" deepactifctl "$@"; }
ranking=
for _ in $(seq 60); do
        if ranking=$(ctl --user top -k 3 2>/dev/null) && [ -n "$ranking" ]; then
                break
        fi
        ranking=
        sleep 0.5
done
if [ -n "$ranking" ]; then
        echo "$ranking"
        ctl --user status || bad "deepactifctl --user status"
        ctl --varlink "$run/varlink" devices || bad "deepactifctl --varlink devices"
        ctl --varlink "$run/varlink" status --json | grep -q '"' || bad "deepactifctl --varlink status --json"
else
        cat "$tmp/daemon.log"
        bad "no ranking from the installed daemon within 30 s"
fi
kill "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
pids=()
[ -s /var/lib/deepactif/deepactif.sqlite ] || bad "the daemon stored nothing in /var/lib/deepactif/deepactif.sqlite"

step "Purge"
dpkg --purge "${packages[@]}" >"$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; bad "dpkg --purge"; }
left=0
while read -r f; do
        if [ -e "$f" ] && [ ! -d "$f" ]; then
                echo "left behind: $f"
                left=1
        fi
done <"$tmp/files"
[ $left -eq 0 ] || bad "purging left packaged files"
for d in /var/lib/deepactif /run/deepactif /etc/deepactif /usr/share/deepactif; do
        [ ! -e "$d" ] || bad "purging left $d"
done

[ $fail -eq 0 ] && echo "PASS: .deb and .rpm build, lintian has no errors, the installed daemon serves rankings, purge leaves nothing"
exit $fail
