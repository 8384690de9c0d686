#include "svg_raster.h"

#include <librsvg/rsvg.h>
#include <cairo.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void set_message(char *message, const char *text) {
    snprintf(message, NADA_SVG_MESSAGE_LEN, "%s", text ? text : "unknown error");
}

int nada_svg_render_rgb(const char *svg, size_t length, int width, int height, unsigned char *rgb,
                        char message[NADA_SVG_MESSAGE_LEN]) {
    message[0] = 0;
    // 16384 is cairo's own image-surface limit.
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
        set_message(message, "image size out of range (1...16384 pixels a side)");
        return NADA_SVG_ERR_ARGS;
    }
    GError *error = NULL;
    // No base file: relative references resolve to nothing, so a document cannot pull in files.
    RsvgHandle *handle = rsvg_handle_new_from_data((const guint8 *)svg, (gsize)length, &error);
    if (!handle) {
        set_message(message, error ? error->message : "librsvg could not read the SVG");
        if (error) g_error_free(error);
        return NADA_SVG_ERR_PARSE;
    }
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        set_message(message, cairo_status_to_string(cairo_surface_status(surface)));
        cairo_surface_destroy(surface);
        g_object_unref(handle);
        return NADA_SVG_ERR_RENDER;
    }
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    RsvgRectangle viewport = {0, 0, (double)width, (double)height};
    gboolean ok = rsvg_handle_render_document(handle, cr, &viewport, &error);
    int status = NADA_SVG_OK;
    if (!ok) {
        set_message(message, error ? error->message : "librsvg could not draw the SVG");
        if (error) g_error_free(error);
        status = NADA_SVG_ERR_RENDER;
    } else if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        set_message(message, cairo_status_to_string(cairo_status(cr)));
        status = NADA_SVG_ERR_RENDER;
    } else {
        cairo_surface_flush(surface);
        const unsigned char *data = cairo_image_surface_get_data(surface);
        int stride = cairo_image_surface_get_stride(surface);
        // ARGB32 is premultiplied native-endian 32-bit; the white background made every pixel opaque.
        for (int y = 0; y < height; y++) {
            const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
            unsigned char *out = rgb + (size_t)y * (size_t)width * 3;
            for (int x = 0; x < width; x++) {
                uint32_t p = row[x];
                out[3 * x] = (unsigned char)((p >> 16) & 255);
                out[3 * x + 1] = (unsigned char)((p >> 8) & 255);
                out[3 * x + 2] = (unsigned char)(p & 255);
            }
        }
    }
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    g_object_unref(handle);
    return status;
}
