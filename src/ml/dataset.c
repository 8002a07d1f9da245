/* Labelled datasets: a features array [N, ...] joined with a labels array [N], loaded
 * from IDX or .npy files, with the checks that the two agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/guard.h"
#include "ml/ml.h"
#include "gtee/dataset.h"

/* Labels index a class dimension downstream (one-hot, logits); bound it. */
#define DATASET_MAX_CLASSES 65536

void gtee_array_free(struct gtee_array *a)
{
    if (!a)
        return;
    ml_free(a->f32);
    ml_free(a->i64);
    memset(a, 0, sizeof(*a));
}

void gtee_dataset_free(struct gtee_dataset *ds)
{
    if (!ds)
        return;
    ml_free(ds->x);
    ml_free(ds->y);
    memset(ds, 0, sizeof(*ds));
}

int gtee_dataset_from_arrays(struct gtee_array *x, const char *x_name, struct gtee_array *y, const char *y_name,
                             struct gtee_dataset *ds, struct gtee_err *err)
{
    struct gtee_dataset d = { 0 };
    int rc = GTEE_EFORMAT;

    memset(ds, 0, sizeof(*ds));
    ENSURE(x->kind == GTEE_ARRAY_F32 && x->f32, err, GTEE_EINVAL, "dataset: %s: features must be float32", x_name);
    ENSURE(y->kind == GTEE_ARRAY_I64 && y->i64, err, GTEE_EINVAL, "dataset: %s: labels must be int64", y_name);
    ENSURE(x->ndim >= 1, err, GTEE_EFORMAT, "dataset: %s: features need an item dimension, shape has none", x_name);
    ENSURE(y->ndim == 1, err, GTEE_EFORMAT, "dataset: %s: labels must have one dimension, not %zu", y_name,
           y->ndim);
    ENSURE(x->dims[0] == y->dims[0], err, GTEE_EFORMAT, "dataset: %s has %zu items but %s has %zu labels", x_name,
           x->dims[0], y_name, y->dims[0]);
    d.n = x->dims[0];
    d.item_ndim = x->ndim - 1;
    d.item_len = 1;
    for (size_t i = 1; i < x->ndim; i++) {
        d.item_dims[i - 1] = x->dims[i];
        d.item_len *= x->dims[i]; /* bounded by the array's element limit */
    }
    for (size_t i = 0; i < d.n; i++) {
        ENSURE(y->i64[i] >= 0 && y->i64[i] < DATASET_MAX_CLASSES, err, GTEE_EFORMAT,
               "dataset: %s: label %lld of item %zu is outside 0..%d", y_name, (long long)y->i64[i], i,
               DATASET_MAX_CLASSES - 1);
        if (y->i64[i] + 1 > d.num_classes)
            d.num_classes = y->i64[i] + 1;
    }
    d.x = x->f32;
    d.y = y->i64;
    x->f32 = NULL;
    y->i64 = NULL;
    *ds = d;
    rc = 0;
out:
    gtee_array_free(x);
    gtee_array_free(y);
    return rc;
}

int gtee_dataset_load_idx(const char *images_path, const char *labels_path, struct gtee_norm norm,
                          struct gtee_dataset *ds, struct gtee_err *err)
{
    struct gtee_array x = { 0 }, y = { 0 };
    int rc = GTEE_EIO;

    memset(ds, 0, sizeof(*ds));
    TRY(gtee_idx_load(images_path, GTEE_ARRAY_F32, norm, &x, err));
    TRY(gtee_idx_load(labels_path, GTEE_ARRAY_I64, GTEE_NORM_NONE, &y, err));
    TRY(gtee_dataset_from_arrays(&x, images_path, &y, labels_path, ds, err));
out:
    gtee_array_free(&x);
    gtee_array_free(&y);
    return rc;
}

int gtee_dataset_load_npy(const char *x_path, const char *y_path, struct gtee_norm norm, struct gtee_dataset *ds,
                          struct gtee_err *err)
{
    struct gtee_array x = { 0 }, y = { 0 };
    int rc = GTEE_EIO;

    memset(ds, 0, sizeof(*ds));
    TRY(gtee_npy_load(x_path, GTEE_ARRAY_F32, norm, &x, err));
    TRY(gtee_npy_load(y_path, GTEE_ARRAY_I64, GTEE_NORM_NONE, &y, err));
    TRY(gtee_dataset_from_arrays(&x, x_path, &y, y_path, ds, err));
out:
    gtee_array_free(&x);
    gtee_array_free(&y);
    return rc;
}

/* dir/<split>-<kind>.gz if present, else without .gz. */
static int mnist_path(const char *dir, const char *split, const char *kind, char *buf, size_t cap,
                      struct gtee_err *err)
{
    int rc = GTEE_EINVAL;
    int n = snprintf(buf, cap, "%s/%s-%s.gz", dir, split, kind);

    ENSURE(n > 0 && (size_t)n < cap, err, GTEE_EINVAL, "dataset: directory name too long");
    if (access(buf, F_OK) != 0)
        buf[n - 3] = '\0';
    rc = 0;
out:
    return rc;
}

int gtee_dataset_load_mnist_dir(const char *dir, const char *split, struct gtee_norm norm,
                                struct gtee_dataset *ds, struct gtee_err *err)
{
    char images[4096], labels[4096];
    int rc = GTEE_EINVAL;

    memset(ds, 0, sizeof(*ds));
    ENSURE(dir && *dir && split && *split, err, GTEE_EINVAL, "dataset: directory and split required");
    for (const char *p = split; *p; p++)
        ENSURE((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'), err, GTEE_EINVAL,
               "dataset: split name must be lowercase letters and digits (train, t10k)");
    TRY(mnist_path(dir, split, "images-idx3-ubyte", images, sizeof(images), err));
    TRY(mnist_path(dir, split, "labels-idx1-ubyte", labels, sizeof(labels), err));
    TRY(gtee_dataset_load_idx(images, labels, norm, ds, err));
out:
    return rc;
}
