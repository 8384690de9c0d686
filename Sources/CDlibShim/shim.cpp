// dlib behind a C interface. Why a shim: Swift cannot call dlib's templates or survive its C++
// exceptions (a corrupt model file throws dlib::serialization_error), so every entry point
// catches everything and reports a message instead.
#include "CDlibShim.h"

#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_processing/shape_predictor.h>
#include <dlib/image_transforms/interpolation.h>
#include <dlib/serialize.h>

#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

struct NadaDlibDetector {
    dlib::frontal_face_detector detector;
    std::mutex lock;  // object_detector::operator() is not const: one caller at a time
};

struct NadaDlibPredictor {
    dlib::shape_predictor predictor;
};

static void setError(char *error, size_t length, const std::string &message) {
    if (error == nullptr || length == 0) return;
    size_t n = message.size() < length - 1 ? message.size() : length - 1;
    std::memcpy(error, message.data(), n);
    error[n] = 0;
}

static void copyImage(const unsigned char *rgb, long width, long height, dlib::array2d<dlib::rgb_pixel> &out) {
    out.set_size(height, width);
    for (long y = 0; y < height; ++y) {
        const unsigned char *row = rgb + 3 * width * y;
        for (long x = 0; x < width; ++x) {
            out[y][x] = dlib::rgb_pixel(row[3 * x], row[3 * x + 1], row[3 * x + 2]);
        }
    }
}

extern "C" NadaDlibDetector *nada_dlib_detector_create(char *error, size_t errorLength) {
    try {
        NadaDlibDetector *d = new NadaDlibDetector();
        d->detector = dlib::get_frontal_face_detector();
        return d;
    } catch (const std::exception &e) {
        setError(error, errorLength, std::string("cannot build dlib's frontal face detector: ") + e.what());
    } catch (...) {
        setError(error, errorLength, "cannot build dlib's frontal face detector: unknown C++ exception");
    }
    return nullptr;
}

extern "C" void nada_dlib_detector_free(NadaDlibDetector *detector) { delete detector; }

extern "C" int nada_dlib_detect(NadaDlibDetector *detector, const unsigned char *rgb, long width, long height,
                                int upsample, NadaDlibBox *boxes, int maxBoxes, char *error, size_t errorLength) {
    if (detector == nullptr || rgb == nullptr || width <= 0 || height <= 0 || upsample < 0) {
        setError(error, errorLength, "invalid arguments to the face detector");
        return -1;
    }
    try {
        dlib::array2d<dlib::rgb_pixel> img;
        copyImage(rgb, width, height, img);
        // As dlib's Python binding (detector(img, upsample)): pyramid_up `upsample` times, detect,
        // then map each rectangle back down through the same pyramid.
        dlib::pyramid_down<2> pyr;
        for (int i = 0; i < upsample; ++i) dlib::pyramid_up(img, pyr);
        std::vector<dlib::rect_detection> found;
        {
            std::lock_guard<std::mutex> guard(detector->lock);
            detector->detector(img, found, 0.0);
        }
        int count = static_cast<int>(found.size());
        for (int i = 0; i < count && i < maxBoxes; ++i) {
            dlib::rectangle r = found[i].rect;
            if (upsample > 0) r = pyr.rect_down(r, upsample);  // drectangle -> rectangle, as the binding
            boxes[i].left = r.left();
            boxes[i].top = r.top();
            boxes[i].right = r.right();
            boxes[i].bottom = r.bottom();
            boxes[i].score = found[i].detection_confidence;
        }
        return count;
    } catch (const std::exception &e) {
        setError(error, errorLength, std::string("face detection failed: ") + e.what());
    } catch (...) {
        setError(error, errorLength, "face detection failed: unknown C++ exception");
    }
    return -1;
}

extern "C" NadaDlibPredictor *nada_dlib_predictor_load(const char *path, char *error, size_t errorLength) {
    if (path == nullptr) {
        setError(error, errorLength, "no model path given");
        return nullptr;
    }
    NadaDlibPredictor *p = nullptr;
    try {
        std::ifstream file(path, std::ios::binary);
        if (!file) {
            setError(error, errorLength, std::string(path) + ": cannot open the landmark model file");
            return nullptr;
        }
        p = new NadaDlibPredictor();
        dlib::deserialize(p->predictor, file);
        if (p->predictor.num_parts() == 0) {
            delete p;
            setError(error, errorLength, std::string(path) + ": the landmark model has no parts");
            return nullptr;
        }
        return p;
    } catch (const std::exception &e) {
        setError(error, errorLength,
                 std::string(path) + ": not a valid dlib shape predictor (" + e.what() + ")");
    } catch (...) {
        setError(error, errorLength, std::string(path) + ": not a valid dlib shape predictor (unknown C++ exception)");
    }
    delete p;
    return nullptr;
}

extern "C" void nada_dlib_predictor_free(NadaDlibPredictor *predictor) { delete predictor; }

extern "C" int nada_dlib_predictor_parts(const NadaDlibPredictor *predictor) {
    return predictor == nullptr ? 0 : static_cast<int>(predictor->predictor.num_parts());
}

extern "C" int nada_dlib_predict(NadaDlibPredictor *predictor, const unsigned char *rgb, long width, long height,
                                 NadaDlibBox box, double *xy, int maxParts, char *error, size_t errorLength) {
    if (predictor == nullptr || rgb == nullptr || xy == nullptr || width <= 0 || height <= 0) {
        setError(error, errorLength, "invalid arguments to the landmark predictor");
        return -1;
    }
    try {
        dlib::array2d<dlib::rgb_pixel> img;
        copyImage(rgb, width, height, img);
        dlib::rectangle rect(box.left, box.top, box.right, box.bottom);
        dlib::full_object_detection shape = predictor->predictor(img, rect);
        int parts = static_cast<int>(shape.num_parts());
        for (int i = 0; i < parts && i < maxParts; ++i) {
            xy[2 * i] = static_cast<double>(shape.part(i).x());
            xy[2 * i + 1] = static_cast<double>(shape.part(i).y());
        }
        return parts;
    } catch (const std::exception &e) {
        setError(error, errorLength, std::string("landmark prediction failed: ") + e.what());
    } catch (...) {
        setError(error, errorLength, "landmark prediction failed: unknown C++ exception");
    }
    return -1;
}
