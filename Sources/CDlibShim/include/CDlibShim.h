// C interface to dlib's frontal face detector and shape predictor (Debian libdlib-dev).
// Every C++ exception is caught inside the shim: a function that fails returns NULL or -1
// and writes a message into the caller's `error` buffer, so Swift never sees an exception.
#ifndef CDLIBSHIM_H
#define CDLIBSHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct NadaDlibDetector NadaDlibDetector;
typedef struct NadaDlibPredictor NadaDlibPredictor;

/// A detection rectangle in dlib's convention (inclusive right/bottom), plus the detector score.
typedef struct {
    long left, top, right, bottom;
    double score;
} NadaDlibBox;

/// dlib::get_frontal_face_detector() (the HOG model compiled into the header). NULL on failure.
NadaDlibDetector *nada_dlib_detector_create(char *error, size_t errorLength);
void nada_dlib_detector_free(NadaDlibDetector *detector);

/// Runs the detector on interleaved 8-bit RGB pixels after `upsample` pyramid_up steps (the
/// reference tools use 1), mapping boxes back to the input's coordinates like dlib's Python
/// binding. Returns the number of faces found (it may exceed maxBoxes; only maxBoxes are
/// written) or -1 on error.
int nada_dlib_detect(NadaDlibDetector *detector, const unsigned char *rgb, long width, long height,
                     int upsample, NadaDlibBox *boxes, int maxBoxes, char *error, size_t errorLength);

/// Deserialises a dlib shape_predictor file (e.g. shape_predictor_68_face_landmarks.dat).
NadaDlibPredictor *nada_dlib_predictor_load(const char *path, char *error, size_t errorLength);
void nada_dlib_predictor_free(NadaDlibPredictor *predictor);
/// Number of landmarks the model predicts (68 for the FFHQ reference model).
int nada_dlib_predictor_parts(const NadaDlibPredictor *predictor);

/// Predicts the landmarks inside `box`; writes x0, y0, x1, y1, ... (integer pixel coordinates,
/// as dlib returns them) for up to maxParts points. Returns the number of parts or -1 on error.
int nada_dlib_predict(NadaDlibPredictor *predictor, const unsigned char *rgb, long width, long height,
                      NadaDlibBox box, double *xy, int maxParts, char *error, size_t errorLength);

#ifdef __cplusplus
}
#endif

#endif
