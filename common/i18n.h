/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Translatable messages of deepactifd and deepactifctl: help, and the errors
 * a person reads. Catalogue: po/, text domain PACKAGE. */

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)
