#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# /init of the test VM's initramfs (built by run-vm.sh). No udev: devtmpfs
# makes the nodes, modules are loaded by hand. The host passes only on the
# result marker, since QEMU exits 0 whatever the guest did.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp

finish() {
        echo o > /proc/sysrq-trigger
        sleep 30
}

if grep -q 'deepactif.probe' /proc/cmdline; then
        echo "VM-PROBE-OK"
        finish
fi

# In dependency order (run-vm.sh wrote it from the modules' depends=).
while read -r m; do
        insmod "/vm/modules/$m.ko" || echo "vm: insmod $m failed"
done < /vm/modules.order

echo
echo "vm: Linux $(uname -r), userspace up $(cut -d' ' -f1 /proc/uptime) s after boot"
for arg in $(cat /proc/cmdline); do
        case $arg in
        deepactif.load_trackers=*) export VM_LOAD_TRACKERS=${arg#*=} ;;
        deepactif.load_seconds=*) export VM_LOAD_SECONDS=${arg#*=} ;;
        esac
done
VM_DIR=/tmp VM_DAEMON=/vm/deepactifd VM_CTL=/vm/deepactifctl VM_MODEL=/vm/model.safetensors \
        VM_GAZEHID=/vm/gazehid.rdesc.bin CK_VERBOSITY=verbose /vm/vm-test
rc=$?
if [ "$rc" -eq 0 ]; then
        /vm-bridge.sh
        rc=$?
fi
echo "vm: tests took until $(cut -d' ' -f1 /proc/uptime) s after boot"
if [ "$rc" -eq 0 ]; then
        echo "VM-RESULT: PASS"
else
        echo "--- deepactifd log"
        cat /tmp/deepactifd.log
        echo "--- kernel log (tail)"
        dmesg | tail -n 40
        echo "VM-RESULT: FAIL (vm-test exited $rc)"
fi
finish
