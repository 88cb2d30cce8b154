/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "util.h"

/* The derived features of the FOVAL and DeepACTIF papers (Hosp et al.),
 * computed per frame so that the daemon's live stream and an offline
 * recording go through the same code. Names, order and formulas follow the
 * papers' preprocessing (benedikt-hosp/actif, models/foval/foval_preprocessor.py,
 * createFeatures() and its 38-entry input_features list); the features after
 * the first DA_FEATURES_ROBUSTVISION are the rest of the papers' longer list
 * plus the inter-pupillary distance. Where the papers' code depends on the
 * whole data set or on pandas' row handling, the per-frame choice is noted
 * in man/deepactif-features.7. */

#define CH(c) (UINT64_C(1) << DA_CH_##c)
#define DIR_R (CH(EYE_RIGHT_DIRECTION_X) | CH(EYE_RIGHT_DIRECTION_Y) | CH(EYE_RIGHT_DIRECTION_Z))
#define DIR_L (CH(EYE_LEFT_DIRECTION_X) | CH(EYE_LEFT_DIRECTION_Y) | CH(EYE_LEFT_DIRECTION_Z))
#define DIRS (DIR_R | DIR_L)
#define ORIGINS (CH(EYE_RIGHT_ORIGIN_X) | CH(EYE_RIGHT_ORIGIN_Z) | CH(EYE_LEFT_ORIGIN_X) | CH(EYE_LEFT_ORIGIN_Z))
#define PAIR_X (CH(EYE_RIGHT_DIRECTION_X) | CH(EYE_LEFT_DIRECTION_X))
#define PAIR_Y (CH(EYE_RIGHT_DIRECTION_Y) | CH(EYE_LEFT_DIRECTION_Y))
#define PAIR_Z (CH(EYE_RIGHT_DIRECTION_Z) | CH(EYE_LEFT_DIRECTION_Z))

/* id, name, unit, channels, description */
#define FEATURES(X)                                                                                     \
        X(DIR_R_X, "World_Gaze_Direction_R_X", "1", CH(EYE_RIGHT_DIRECTION_X),                          \
          "right gaze direction, x component")                                                          \
        X(DIR_R_Y, "World_Gaze_Direction_R_Y", "1", CH(EYE_RIGHT_DIRECTION_Y),                          \
          "right gaze direction, y component")                                                          \
        X(DIR_R_Z, "World_Gaze_Direction_R_Z", "1", CH(EYE_RIGHT_DIRECTION_Z),                          \
          "right gaze direction, z component")                                                          \
        X(DIR_L_X, "World_Gaze_Direction_L_X", "1", CH(EYE_LEFT_DIRECTION_X),                           \
          "left gaze direction, x component")                                                           \
        X(DIR_L_Y, "World_Gaze_Direction_L_Y", "1", CH(EYE_LEFT_DIRECTION_Y),                           \
          "left gaze direction, y component")                                                           \
        X(DIR_L_Z, "World_Gaze_Direction_L_Z", "1", CH(EYE_LEFT_DIRECTION_Z),                           \
          "left gaze direction, z component")                                                           \
        X(ORIGIN_R_X, "World_Gaze_Origin_R_X", "m", CH(EYE_RIGHT_ORIGIN_X), "right eye position, x")    \
        X(ORIGIN_R_Z, "World_Gaze_Origin_R_Z", "m", CH(EYE_RIGHT_ORIGIN_Z), "right eye position, z")    \
        X(ORIGIN_L_X, "World_Gaze_Origin_L_X", "m", CH(EYE_LEFT_ORIGIN_X), "left eye position, x")      \
        X(ORIGIN_L_Z, "World_Gaze_Origin_L_Z", "m", CH(EYE_LEFT_ORIGIN_Z), "left eye position, z")      \
        X(VERGENCE_ANGLE, "Vergence_Angle", "deg", DIRS,                                                \
          "angle between the two gaze directions")                                                      \
        X(NORM_VERGENCE_ANGLE, "Normalized_Vergence_Angle", "1", DIRS,                                  \
          "vergence angle mapped from 0..20 deg to -1..1")                                              \
        X(VERGENCE_DEPTH, "Vergence_Depth", "m", DIRS | ORIGINS,                                        \
          "fixation depth from vergence: IPD / (2 tan(angle/2))")                                       \
        X(COSINE_ANGLES, "Cosine_Angles", "1", DIRS, "cosine of the vergence angle")                    \
        X(DELTA_GAZE_X, "Delta_Gaze_X", "1", PAIR_X, "right minus left direction, x")                   \
        X(DELTA_GAZE_Y, "Delta_Gaze_Y", "1", PAIR_Y, "right minus left direction, y")                   \
        X(DELTA_GAZE_Z, "Delta_Gaze_Z", "1", PAIR_Z, "right minus left direction, z")                   \
        X(GAZE_VECTOR_ANGLE, "Gaze_Vector_Angle", "rad", DIRS, "angle between the gaze vectors")        \
        X(GAZE_POINT_EUCLIDEAN_DISTANCE, "Gaze_Point_Euclidean_Distance", "1", PAIR_X | PAIR_Y,         \
          "distance between the direction vectors' x,y tips")                                           \
        X(DIR_MAGNITUDE_R, "Directional_Magnitude_R", "1", DIR_R, "length of the right direction")      \
        X(DIR_MAGNITUDE_L, "Directional_Magnitude_L", "1", DIR_L, "length of the left direction")       \
        X(DIR_MAGNITUDE_RATIO, "Directional_Magnitude_Ratio", "1", DIRS,                                \
          "right over left direction length")                                                           \
        X(GAZE_DIR_X_RATIO, "Gaze_Direction_X_Ratio", "1", PAIR_X, "right over left direction, x")      \
        X(GAZE_DIR_Y_RATIO, "Gaze_Direction_Y_Ratio", "1", PAIR_Y, "right over left direction, y")      \
        X(GAZE_DIR_Z_RATIO, "Gaze_Direction_Z_Ratio", "1", PAIR_Z, "right over left direction, z")      \
        X(RATIO_DELTA_GAZE_XY, "Ratio_Delta_Gaze_XY", "1", PAIR_X | PAIR_Y,                             \
          "Delta_Gaze_X over Delta_Gaze_Y")                                                             \
        X(GAZE_DIRECTION_ANGLE, "Gaze_Direction_Angle", "rad", DIRS,                                    \
          "angle between the gaze directions (dot product)")                                            \
        X(REL_CHANGE_VERGENCE_ANGLE, "Relative_Change_Vergence_Angle", "deg", DIRS,                     \
          "vergence angle minus the previous frame's")                                                  \
        X(ANGULAR_DIFF_GAZE_DIRS, "Angular_Difference_Gaze_Directions", "rad", DIRS,                    \
          "angle between the gaze directions")                                                          \
        X(RATIO_DIR_MAGNITUDE, "Ratio_Directional_Magnitude", "1", DIRS,                                \
          "right over left direction length")                                                           \
        X(GAZE_POINT_DISTANCE, "Gaze_Point_Distance", "1", PAIR_X | PAIR_Y,                             \
          "distance between the direction vectors' x,y tips")                                           \
        X(GAZE_POINT_DEPTH_DIFF, "Gaze_Point_Depth_Difference", "1", PAIR_Z,                            \
          "right minus left direction, z")                                                              \
        X(RATIO_WGD_X, "Ratio_World_Gaze_Direction_X", "1", PAIR_X, "right over left direction, x")     \
        X(RATIO_WGD_Y, "Ratio_World_Gaze_Direction_Y", "1", PAIR_Y, "right over left direction, y")     \
        X(RATIO_WGD_Z, "Ratio_World_Gaze_Direction_Z", "1", PAIR_Z, "right over left direction, z")     \
        X(VEL_R_X, "Velocity_Gaze_Direction_R_X", "1/s", CH(EYE_RIGHT_DIRECTION_X),                     \
          "rate of change of the right direction, x")                                                   \
        X(ACC_R_X, "Acceleration_Gaze_Direction_R_X", "1/s^2", CH(EYE_RIGHT_DIRECTION_X),               \
          "rate of change of Velocity_Gaze_Direction_R_X")                                              \
        X(ANGULAR_DIFF_X, "Angular_Difference_X", "1", PAIR_X, "right minus left direction, x")         \
        X(IPD, "Inter_Pupillary_Distance", "m", ORIGINS, "distance between the eye positions")          \
        X(VEL_R_Y, "Velocity_Gaze_Direction_R_Y", "1/s", CH(EYE_RIGHT_DIRECTION_Y),                     \
          "rate of change of the right direction, y")                                                   \
        X(ACC_R_Y, "Acceleration_Gaze_Direction_R_Y", "1/s^2", CH(EYE_RIGHT_DIRECTION_Y),               \
          "rate of change of Velocity_Gaze_Direction_R_Y")                                              \
        X(VEL_R_Z, "Velocity_Gaze_Direction_R_Z", "1/s", CH(EYE_RIGHT_DIRECTION_Z),                     \
          "rate of change of the right direction, z")                                                   \
        X(ACC_R_Z, "Acceleration_Gaze_Direction_R_Z", "1/s^2", CH(EYE_RIGHT_DIRECTION_Z),               \
          "rate of change of Velocity_Gaze_Direction_R_Z")                                              \
        X(VEL_L_X, "Velocity_Gaze_Direction_L_X", "1/s", CH(EYE_LEFT_DIRECTION_X),                      \
          "rate of change of the left direction, x")                                                    \
        X(ACC_L_X, "Acceleration_Gaze_Direction_L_X", "1/s^2", CH(EYE_LEFT_DIRECTION_X),                \
          "rate of change of Velocity_Gaze_Direction_L_X")                                              \
        X(VEL_L_Y, "Velocity_Gaze_Direction_L_Y", "1/s", CH(EYE_LEFT_DIRECTION_Y),                      \
          "rate of change of the left direction, y")                                                    \
        X(ACC_L_Y, "Acceleration_Gaze_Direction_L_Y", "1/s^2", CH(EYE_LEFT_DIRECTION_Y),                \
          "rate of change of Velocity_Gaze_Direction_L_Y")                                              \
        X(VEL_L_Z, "Velocity_Gaze_Direction_L_Z", "1/s", CH(EYE_LEFT_DIRECTION_Z),                      \
          "rate of change of the left direction, z")                                                    \
        X(ACC_L_Z, "Acceleration_Gaze_Direction_L_Z", "1/s^2", CH(EYE_LEFT_DIRECTION_Z),                \
          "rate of change of Velocity_Gaze_Direction_L_Z")

enum {
#define FEATURE_ENUM(id, name, unit, channels, description) F_##id,
        FEATURES(FEATURE_ENUM)
#undef FEATURE_ENUM
        _F_MAX,
};

_Static_assert(F_ANGULAR_DIFF_X + 1 == DA_FEATURES_ROBUSTVISION, "the papers' 38 features come first");
_Static_assert(_DA_CH_MAX <= 64, "channel masks are 64 bits");

static const da_feature_info feature_info[_F_MAX] = {
#define FEATURE_INFO(id, n, u, channels, d) [F_##id] = { .name = n, .unit = u, .description = d },
        FEATURES(FEATURE_INFO)
#undef FEATURE_INFO
};

static const uint64_t feature_channels[_F_MAX] = {
#define FEATURE_CHANNELS(id, name, unit, c, description) [F_##id] = c,
        FEATURES(FEATURE_CHANNELS)
#undef FEATURE_CHANNELS
};

/* Normalized_Vergence_Angle: the papers min-max scale over the whole data
 * set, which a live stream cannot know; a fixed range covering fixation
 * from ~0.18 m gives the same model input after robust scaling, which
 * removes any affine map. */
#define VERGENCE_NORM_MAX_DEG 20.0

/* Velocities divide by the stream's sample period averaged over the last
 * PERIOD_FRAMES intervals: trackers batch samples under one stamp (dt = 0,
 * then a multiple of the period), so the raw interval of a frame says
 * little, while the average over a few batches is the true rate. */
#define PERIOD_FRAMES 32u

enum { DIM_X, DIM_Y, DIM_Z, _DIM_MAX };

struct da_featurizer {
        unsigned n;
        unsigned *index;                        /* n feature indices */

        uint64_t times[PERIOD_FRAMES + 1];      /* ring of recent stamps */
        unsigned n_times, next_time;
        uint64_t frames;                        /* pushed since reset */
        double prev_dir[2][_DIM_MAX];           /* [right, left] */
        double prev_vel[2][_DIM_MAX];
        double prev_vergence_deg;
};

unsigned da_feature_count(void) {
        return _F_MAX;
}

const da_feature_info *da_feature_get(unsigned i) {
        return i < _F_MAX ? &feature_info[i] : NULL;
}

int da_feature_from_name(const char *name) {
        for (unsigned i = 0; i < _F_MAX; i++)
                if (name && streq(feature_info[i].name, name))
                        return (int) i;
        return -ENOENT;
}

int da_feature_channels(unsigned i, da_channel *ret_channels, unsigned max) {
        unsigned n = 0;

        if (i >= _F_MAX)
                return -EINVAL;
        for (unsigned c = 0; c < _DA_CH_MAX; c++) {
                if (!(feature_channels[i] & (UINT64_C(1) << c)))
                        continue;
                if (ret_channels && n < max)
                        ret_channels[n] = (da_channel) c;
                n++;
        }
        return (int) n;
}

int da_feature_copies_channel(unsigned i) {
        switch (i) {
        case F_DIR_R_X: case F_DIR_R_Y: case F_DIR_R_Z:
        case F_DIR_L_X: case F_DIR_L_Y: case F_DIR_L_Z:
        case F_ORIGIN_R_X: case F_ORIGIN_R_Z: case F_ORIGIN_L_X: case F_ORIGIN_L_Z:
                return __builtin_ctzll(feature_channels[i]);
        default:
                return -ENOENT;
        }
}

bool da_feature_heavy_tailed(unsigned i) {
        switch (i) {
        case F_GAZE_DIR_X_RATIO: case F_GAZE_DIR_Y_RATIO: case F_RATIO_WGD_X: case F_RATIO_WGD_Y:
        case F_RATIO_DELTA_GAZE_XY: case F_COSINE_ANGLES:
        case F_ACC_R_X: case F_ACC_R_Y: case F_ACC_R_Z: case F_ACC_L_X: case F_ACC_L_Y: case F_ACC_L_Z:
        case F_REL_CHANGE_VERGENCE_ANGLE:
                return true;
        default:
                return false;
        }
}

int da_featurizer_new(const unsigned *features, unsigned n, da_featurizer **ret) {
        da_featurizer *fz;

        if (!ret || (n > 0 && !features))
                return -EINVAL;
        for (unsigned k = 0; k < n; k++)
                if (features[k] >= _F_MAX)
                        return -EINVAL;

        fz = calloc(1, sizeof(*fz));
        if (!fz)
                return -ENOMEM;
        fz->n = n > 0 ? n : _F_MAX;
        fz->index = calloc(fz->n, sizeof(unsigned));
        if (!fz->index) {
                free(fz);
                return -ENOMEM;
        }
        for (unsigned k = 0; k < fz->n; k++)
                fz->index[k] = n > 0 ? features[k] : k;

        *ret = fz;
        return 0;
}

da_featurizer *da_featurizer_free(da_featurizer *fz) {
        if (!fz)
                return NULL;
        free(fz->index);
        free(fz);
        return NULL;
}

unsigned da_featurizer_n_features(const da_featurizer *fz) {
        return fz ? fz->n : 0;
}

void da_featurizer_reset(da_featurizer *fz) {
        if (!fz)
                return;
        fz->n_times = fz->next_time = 0;
        fz->frames = 0;
}

/* The mean sample period in seconds over the stamps kept, including this
 * frame's; 0 while no time has elapsed. */
static double push_time(da_featurizer *fz, uint64_t t) {
        unsigned oldest;

        fz->times[fz->next_time] = t;
        fz->next_time = (fz->next_time + 1) % ELEMENTSOF(fz->times);
        if (fz->n_times < ELEMENTSOF(fz->times))
                fz->n_times++;
        if (fz->n_times < 2)
                return 0;

        oldest = (fz->next_time + ELEMENTSOF(fz->times) - fz->n_times) % ELEMENTSOF(fz->times);
        /* A stamp before the oldest kept (a non-monotonic source) counts as no time. */
        if (t <= fz->times[oldest])
                return 0;
        return (double) (t - fz->times[oldest]) * 1e-6 / (fz->n_times - 1);
}

static double ratio(double a, double b) {
        /* The papers' division by zero gives ±inf, and the row is dropped. */
        return b == 0 ? NAN : a / b;
}

static double norm3(const double v[static 3]) {
        return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

/* The angle between the gaze directions in radians; NaN when either is
 * (near) zero, as the papers' getAngle(). Clamped to acos' domain, where
 * the papers' unclamped version turns rounding into NaN. */
static double gaze_angle(const double r[static 3], const double l[static 3]) {
        double nr = norm3(r), nl = norm3(l), c;

        if (!(nr >= 1e-8 && nl >= 1e-8))
                return NAN;
        c = (r[0] * l[0] + r[1] * l[1] + r[2] * l[2]) / (nr * nl);
        return acos(fmax(-1.0, fmin(1.0, c)));
}

/* The papers' export has no Y origin and uses 0 for it; a source that
 * provides Y for both eyes gets the full 3-D distance. */
static double ipd(const float *ch) {
        double dx = (double) ch[DA_CH_EYE_RIGHT_ORIGIN_X] - ch[DA_CH_EYE_LEFT_ORIGIN_X];
        double dz = (double) ch[DA_CH_EYE_RIGHT_ORIGIN_Z] - ch[DA_CH_EYE_LEFT_ORIGIN_Z];
        float ry = ch[DA_CH_EYE_RIGHT_ORIGIN_Y], ly = ch[DA_CH_EYE_LEFT_ORIGIN_Y];
        double dy;

        if (isnan(ry) && isnan(ly))
                dy = 0;
        else
                dy = (double) ry - ly;
        return sqrt(dx * dx + dy * dy + dz * dz);
}

static void compute(da_featurizer *fz, const da_frame *frame, double v[static _F_MAX]) {
        static const da_channel dir_ch[2][_DIM_MAX] = {
                { DA_CH_EYE_RIGHT_DIRECTION_X, DA_CH_EYE_RIGHT_DIRECTION_Y, DA_CH_EYE_RIGHT_DIRECTION_Z },
                { DA_CH_EYE_LEFT_DIRECTION_X, DA_CH_EYE_LEFT_DIRECTION_Y, DA_CH_EYE_LEFT_DIRECTION_Z },
        };
        static const unsigned vel_f[2][_DIM_MAX] = {
                { F_VEL_R_X, F_VEL_R_Y, F_VEL_R_Z },
                { F_VEL_L_X, F_VEL_L_Y, F_VEL_L_Z },
        };
        static const unsigned acc_f[2][_DIM_MAX] = {
                { F_ACC_R_X, F_ACC_R_Y, F_ACC_R_Z },
                { F_ACC_L_X, F_ACC_L_Y, F_ACC_L_Z },
        };
        const float *ch = frame->ch;
        double d[2][_DIM_MAX], angle, deg, mag_r, mag_l, period;
        bool first = fz->frames == 0;

        for (unsigned e = 0; e < 2; e++)
                for (unsigned k = 0; k < _DIM_MAX; k++)
                        d[e][k] = ch[dir_ch[e][k]];
        const double *r = d[0], *l = d[1];

        v[F_DIR_R_X] = r[DIM_X];
        v[F_DIR_R_Y] = r[DIM_Y];
        v[F_DIR_R_Z] = r[DIM_Z];
        v[F_DIR_L_X] = l[DIM_X];
        v[F_DIR_L_Y] = l[DIM_Y];
        v[F_DIR_L_Z] = l[DIM_Z];
        v[F_ORIGIN_R_X] = ch[DA_CH_EYE_RIGHT_ORIGIN_X];
        v[F_ORIGIN_R_Z] = ch[DA_CH_EYE_RIGHT_ORIGIN_Z];
        v[F_ORIGIN_L_X] = ch[DA_CH_EYE_LEFT_ORIGIN_X];
        v[F_ORIGIN_L_Z] = ch[DA_CH_EYE_LEFT_ORIGIN_Z];

        angle = gaze_angle(r, l);
        deg = angle * (180.0 / M_PI);
        v[F_VERGENCE_ANGLE] = deg;
        v[F_NORM_VERGENCE_ANGLE] = 2.0 * deg / VERGENCE_NORM_MAX_DEG - 1.0;
        v[F_IPD] = ipd(ch);
        /* Parallel gaze has no finite depth; the papers write 0 for it. */
        v[F_VERGENCE_DEPTH] = angle == 0 ? 0 : v[F_IPD] / (2.0 * tan(angle / 2.0));
        v[F_COSINE_ANGLES] = cos(angle);

        v[F_DELTA_GAZE_X] = r[DIM_X] - l[DIM_X];
        v[F_DELTA_GAZE_Y] = r[DIM_Y] - l[DIM_Y];
        v[F_DELTA_GAZE_Z] = r[DIM_Z] - l[DIM_Z];
        v[F_ANGULAR_DIFF_X] = v[F_DELTA_GAZE_X];
        v[F_GAZE_POINT_DEPTH_DIFF] = v[F_DELTA_GAZE_Z];
        v[F_GAZE_POINT_EUCLIDEAN_DISTANCE] = hypot(v[F_DELTA_GAZE_X], v[F_DELTA_GAZE_Y]);
        v[F_GAZE_POINT_DISTANCE] = v[F_GAZE_POINT_EUCLIDEAN_DISTANCE];
        v[F_RATIO_DELTA_GAZE_XY] = ratio(v[F_DELTA_GAZE_X], v[F_DELTA_GAZE_Y]);

        v[F_GAZE_VECTOR_ANGLE] = angle;
        v[F_GAZE_DIRECTION_ANGLE] = angle;
        v[F_ANGULAR_DIFF_GAZE_DIRS] = angle;

        mag_r = norm3(r);
        mag_l = norm3(l);
        v[F_DIR_MAGNITUDE_R] = mag_r;
        v[F_DIR_MAGNITUDE_L] = mag_l;
        v[F_DIR_MAGNITUDE_RATIO] = ratio(mag_r, mag_l);
        v[F_RATIO_DIR_MAGNITUDE] = v[F_DIR_MAGNITUDE_RATIO];

        v[F_GAZE_DIR_X_RATIO] = ratio(r[DIM_X], l[DIM_X]);
        v[F_GAZE_DIR_Y_RATIO] = ratio(r[DIM_Y], l[DIM_Y]);
        v[F_GAZE_DIR_Z_RATIO] = ratio(r[DIM_Z], l[DIM_Z]);
        v[F_RATIO_WGD_X] = v[F_GAZE_DIR_X_RATIO];
        v[F_RATIO_WGD_Y] = v[F_GAZE_DIR_Y_RATIO];
        v[F_RATIO_WGD_Z] = v[F_GAZE_DIR_Z_RATIO];

        /* The papers fill the first row's differences with 0 (fillna(0)). */
        v[F_REL_CHANGE_VERGENCE_ANGLE] = first ? 0 : deg - fz->prev_vergence_deg;
        fz->prev_vergence_deg = deg;

        period = push_time(fz, frame->time_us);
        for (unsigned e = 0; e < 2; e++)
                for (unsigned k = 0; k < _DIM_MAX; k++) {
                        double vel, acc;

                        if (first || period <= 0) {
                                vel = 0;
                                acc = 0;
                        } else {
                                vel = (d[e][k] - fz->prev_dir[e][k]) / period;
                                acc = (vel - fz->prev_vel[e][k]) / period;
                        }
                        v[vel_f[e][k]] = vel;
                        v[acc_f[e][k]] = acc;
                        fz->prev_dir[e][k] = d[e][k];
                        fz->prev_vel[e][k] = vel;
                }
        fz->frames++;
}

int da_featurizer_push(da_featurizer *fz, const da_frame *frame, float *ret_values) {
        double v[_F_MAX];

        if (!fz || !frame || !ret_values)
                return -EINVAL;

        compute(fz, frame, v);
        for (unsigned k = 0; k < fz->n; k++)
                ret_values[k] = (float) v[fz->index[k]];
        return 0;
}
