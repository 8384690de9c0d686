#ifndef NADA_IMAGE_CODECS_H
#define NADA_IMAGE_CODECS_H
// C shim over libjpeg and libpng. Both libraries report fatal errors with longjmp, which Swift
// cannot unwind through, so every setjmp lives here and each call returns a status plus a message.
// All functions work on memory buffers; the Swift side owns file I/O.

#include <stddef.h>
#include <stdint.h>

#define NADA_OK 0
#define NADA_ERR_CORRUPT 1      // the codec rejected the data (message says why)
#define NADA_ERR_TRUNCATED 2    // data ended early
#define NADA_ERR_TOO_LARGE 3    // width*height above the caller's pixel limit (checked from the header)
#define NADA_ERR_UNSUPPORTED 4  // valid but a kind we do not decode
#define NADA_ERR_NOMEM 5

#define NADA_MESSAGE_LEN 200

// A decoded 8-bit image: channels 3 (RGB) or 4 (RGBA), rows packed, `pixels` from malloc.
// `source_kind` says what the file held, for callers that mimic Pillow's per-mode behaviour:
// 0 RGB, 1 gray, 2 palette, 3 gray+alpha, 4 RGBA, 5 CMYK (converted), 6 16-bit (high byte kept).
// JPEG only: `scale_denom` is the DCT scaling used (1 = full size; 2, 4 or 8 = decoded at 1/n),
// and `stored_width` x `stored_height` the size the header states (width x height is what came out).
typedef struct {
    int width;
    int height;
    int channels;
    int source_kind;
    int bit_depth;
    int scale_denom;
    int stored_width;
    int stored_height;
    unsigned char *pixels;
    char message[NADA_MESSAGE_LEN];
} nada_decoded;

// How to decode a JPEG.
// - max_pixels: width*height of the header above this fails with NADA_ERR_TOO_LARGE; <= 0 no limit.
// - min_side: > 0 lets libjpeg decode at 1/2, 1/4 or 1/8 size (DCT scaling, scale_num/scale_denom),
//   choosing the largest reduction whose shorter side is still >= min_side; <= 0 full size.
// - allow_corrupt_data: 0 (the default) turns libjpeg's corrupt-data warnings (premature end of
//   the data or of the file, bad Huffman/arithmetic codes, missing restart markers, invalid scans)
//   into errors carrying libjpeg's text; 1 keeps libjpeg's lenient behaviour (it fills grey).
typedef struct {
    int64_t max_pixels;
    int min_side;
    int allow_corrupt_data;
} nada_jpeg_options;

// Dimensions from the header only (no pixel decoding). Returns a NADA_* status.
int nada_jpeg_header(const uint8_t *data, size_t size, int *width, int *height, int *components,
                     char *message);
int nada_png_header(const uint8_t *data, size_t size, int *width, int *height, char *message);

// Full decode. `max_pixels` <= 0 means no limit. On failure `out->pixels` is NULL.
int nada_jpeg_decode(const uint8_t *data, size_t size, const nada_jpeg_options *options, nada_decoded *out);
int nada_png_decode(const uint8_t *data, size_t size, int64_t max_pixels, nada_decoded *out);

// Encode packed 8-bit pixels. JPEG: channels 1 (gray), 3 (RGB) or 4 (CMYK, Adobe-inverted, for
// tests of the CMYK decode path); quality 1...100; a JFIF APP0 header is written.
// PNG: channels 1, 2, 3 or 4, no interlace. `*out` is malloc'ed; free with nada_free.
int nada_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                     uint8_t **out, size_t *out_size, char *message);
int nada_png_encode(const uint8_t *pixels, int width, int height, int channels,
                    uint8_t **out, size_t *out_size, char *message);

void nada_free(void *pointer);

#endif
