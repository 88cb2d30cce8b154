/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A synthetic eye tracker for the VM tests: a smooth gaze trajectory, the
 * GazeHid input report that carries it, and a uhid device with Microsoft's
 * GazeHid descriptor. Shared by vm-test (tests/vm/run-vm.sh) and
 * gazehid-uhid (tests/vm-system/run.sh). Only libc and libm.
 */

#include <stddef.h>
#include <stdint.h>

#define GAZEHID_RATE_HZ 100

/* Tracking Data: ID, 8 timestamp bytes, 8 × s32 µm, 6 reserved s32. */
#define GAZEHID_REPORT_ID 0x10
#define GAZEHID_REPORT_SIZE 65

/* Where the eyes are at sample k, in metres. */
typedef struct Gaze {
        double point[2], left[3], right[3];
} Gaze;

Gaze gaze_trajectory(unsigned k);

/* Report 0x10 for sample k; its timestamp is 1 s + k / GAZEHID_RATE_HZ. */
void gazehid_report(unsigned k, uint8_t report[static GAZEHID_REPORT_SIZE]);

/* A uhid device (USB 045e:0dea) with report descriptor desc: its fd, or
 * -errno. */
int uhid_create(const uint8_t *desc, size_t n, const char *name);

/* Answers the kernel's pending GET_REPORT/SET_REPORT requests on fd. */
void uhid_service(int fd);

/* Sends one input report: 0 or -errno. */
int uhid_send(int fd, const uint8_t *report, size_t n);

/* Unplugs the device and closes fd: 0 or -errno. */
int uhid_destroy(int fd);
