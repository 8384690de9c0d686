#ifndef NADA_SVG_RASTER_H
#define NADA_SVG_RASTER_H
// SVG -> RGB pixels with librsvg and cairo (Debian librsvg2-dev). The Swift side only sees this plain
// interface (no GLib types): one call, a status and a message.

#include <stddef.h>

#define NADA_SVG_OK 0
#define NADA_SVG_ERR_PARSE 1     // librsvg rejected the document (message says why)
#define NADA_SVG_ERR_RENDER 2    // cairo or librsvg failed while drawing
#define NADA_SVG_ERR_ARGS 3      // width/height out of range

#define NADA_SVG_MESSAGE_LEN 240

// Renders `svg` (UTF-8, `length` bytes) scaled to fit width x height over a white background and writes
// width*height*3 bytes of RGB into `rgb` (rows packed). Text is laid out by Pango with the fonts fontconfig
// finds (Debian fonts-dejavu-core gives "DejaVu Sans"). External references (images, fonts by URL) are not loaded.
int nada_svg_render_rgb(const char *svg, size_t length, int width, int height, unsigned char *rgb,
                        char message[NADA_SVG_MESSAGE_LEN]);

#endif
