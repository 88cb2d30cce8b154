/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Translatable messages of deepactifd: its help and the errors a person
 * starting it reads. Catalogue: po/, text domain PACKAGE. */

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)
