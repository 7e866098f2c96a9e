/* Hugging Face learning-rate schedules: see schedule.h for the formulas. */
#include "train/schedule.h"

#include <math.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* max(1, x) as a double, the guard HF uses against division by zero. */
static double at_least_one(int64_t x) {
    return (double)(x > 1 ? x : 1);
}

double affect_lr_multiplier(affect_lr_schedule kind, int64_t step, int64_t warmup_steps,
                            int64_t total_steps, double num_cycles) {
    if (step < warmup_steps) return (double)step / at_least_one(warmup_steps);
    switch (kind) {
    case AFFECT_LR_LINEAR: {
        double r = (double)(total_steps - step) / at_least_one(total_steps - warmup_steps);
        return r > 0.0 ? r : 0.0;
    }
    case AFFECT_LR_COSINE: {
        double progress = (double)(step - warmup_steps) / at_least_one(total_steps - warmup_steps);
        double r = 0.5 * (1.0 + cos(M_PI * num_cycles * 2.0 * progress));
        return r > 0.0 ? r : 0.0;
    }
    case AFFECT_LR_CONSTANT:
    default:
        return 1.0;
    }
}

int64_t affect_warmup_steps(int64_t warmup_steps, double warmup_ratio, int64_t total_steps) {
    if (warmup_steps > 0) return warmup_steps;
    return (int64_t)ceil((double)total_steps * warmup_ratio);
}

int affect_lr_schedule_from_name(const char *name) {
    if (!name) return -1;
    if (strcmp(name, "linear") == 0) return AFFECT_LR_LINEAR;
    if (strcmp(name, "cosine") == 0) return AFFECT_LR_COSINE;
    if (strcmp(name, "constant") == 0 || strcmp(name, "constant_with_warmup") == 0)
        return AFFECT_LR_CONSTANT;
    return -1;
}
