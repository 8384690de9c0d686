// C shim over libjpeg(-turbo) and libpng: see include/image_codecs.h.
// Every libjpeg/libpng call that can fail runs under a setjmp in this file; the error handlers
// copy the library's message into the caller's buffer and longjmp back here.

#include "image_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

void nada_free(void *pointer) { free(pointer); }

static void set_message(char *message, const char *text) {
    if (message) snprintf(message, NADA_MESSAGE_LEN, "%s", text);
}

// ---------------------------------------------------------------------------------------------
// JPEG

struct nada_jpeg_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int truncated;
    int allow_corrupt_data;
    char *message;
};

static void nada_jpeg_error_exit(j_common_ptr cinfo) {
    struct nada_jpeg_error *err = (struct nada_jpeg_error *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    set_message(err->message, buffer);
    longjmp(err->jump, 1);
}

// libjpeg reports damaged pixel data only as warnings and carries on, filling what is missing with
// grey: a header claiming 10000x10000 over 64x64 of data "decodes" to 300 MB of grey. So the
// warnings that mean the pixels are not what the file claims are errors here (unless the caller
// allows corrupt data). Warnings about metadata only (an unknown JFIF revision or Adobe transform, a
// bad ICC marker) and stray bytes before a marker (common in camera files, and the pixels are whole)
// stay ignored.
static int nada_jpeg_is_data_warning(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:          // "Premature end of JPEG file"
    case JWRN_HIT_MARKER:        // "Corrupt JPEG data: premature end of data segment"
    case JWRN_HUFF_BAD_CODE:     // "Corrupt JPEG data: bad Huffman code"
#if JPEG_LIB_VERSION >= 70 || defined(D_ARITH_CODING_SUPPORTED) || defined(C_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE:    // "Corrupt JPEG data: bad arithmetic code"
#endif
    case JWRN_MUST_RESYNC:       // "Corrupt JPEG data: found marker 0x.. instead of RSTn"
    case JWRN_BOGUS_PROGRESSION: // "Inconsistent progression sequence ..."
    case JWRN_NOT_SEQUENTIAL:    // "Invalid SOS parameters for sequential JPEG"
        return 1;
    default:
        return 0;
    }
}

static void nada_jpeg_emit_message(j_common_ptr cinfo, int level) {
    struct nada_jpeg_error *err = (struct nada_jpeg_error *)cinfo->err;
    if (level >= 0) return;  // trace messages
    cinfo->err->num_warnings++;
    int code = cinfo->err->msg_code;
    if (err->allow_corrupt_data || !nada_jpeg_is_data_warning(code)) return;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    if (code == JWRN_JPEG_EOF) {
        err->truncated = 1;
        if (err->message) snprintf(err->message, NADA_MESSAGE_LEN, "%s (file truncated)", buffer);
    } else {
        set_message(err->message, buffer);
    }
    longjmp(err->jump, 1);
}

static void nada_jpeg_init_error(struct nada_jpeg_error *err, char *message) {
    jpeg_std_error(&err->pub);
    err->pub.error_exit = nada_jpeg_error_exit;
    err->pub.emit_message = nada_jpeg_emit_message;
    err->truncated = 0;
    err->allow_corrupt_data = 0;
    err->message = message;
}

int nada_jpeg_header(const uint8_t *data, size_t size, int *width, int *height, int *components,
                     char *message) {
    struct jpeg_decompress_struct cinfo;
    struct nada_jpeg_error err;
    nada_jpeg_init_error(&err, message);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return err.truncated ? NADA_ERR_TRUNCATED : NADA_ERR_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    *width = (int)cinfo.image_width;
    *height = (int)cinfo.image_height;
    *components = cinfo.num_components;
    jpeg_destroy_decompress(&cinfo);
    return NADA_OK;
}

int nada_jpeg_decode(const uint8_t *data, size_t size, const nada_jpeg_options *options, nada_decoded *out) {
    struct jpeg_decompress_struct cinfo;
    struct nada_jpeg_error err;
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile row4 = NULL;
    memset(out, 0, sizeof(*out));
    int64_t max_pixels = options ? options->max_pixels : 0;
    int min_side = options ? options->min_side : 0;
    nada_jpeg_init_error(&err, out->message);
    err.allow_corrupt_data = options ? options->allow_corrupt_data : 0;
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row4);
        out->pixels = NULL;
        return err.truncated ? NADA_ERR_TRUNCATED : NADA_ERR_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int64_t sw = cinfo.image_width, sh = cinfo.image_height;
    out->width = out->stored_width = (int)sw;
    out->height = out->stored_height = (int)sh;
    out->bit_depth = 8;
    out->scale_denom = 1;
    if (sw <= 0 || sh <= 0) {
        set_message(out->message, "JPEG header has a zero dimension");
        jpeg_destroy_decompress(&cinfo);
        return NADA_ERR_CORRUPT;
    }
    // The limit is on the size the file claims, whatever the scale: it is the bomb check.
    if (max_pixels > 0 && sw * sh > max_pixels) {
        snprintf(out->message, NADA_MESSAGE_LEN, "%lldx%lld = %lld pixels exceeds the limit of %lld",
                 (long long)sw, (long long)sh, (long long)(sw * sh), (long long)max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return NADA_ERR_TOO_LARGE;
    }

    int cmyk = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        out->source_kind = 1;
        cinfo.out_color_space = JCS_RGB;  // libjpeg-turbo replicates grey into RGB
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        out->source_kind = 5;
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        out->source_kind = 0;
        cinfo.out_color_space = JCS_RGB;
        break;
    }
    // Pillow's defaults (so CLIP preprocessing of JPEG files matches): ISLOW IDCT, fancy upsampling.
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    // DCT scaling: libjpeg computes the reduced image from the coefficients directly (the same as
    // Pillow's Image.draft), so a 100-megapixel photo never exists at full size in memory.
    // libjpeg rounds each output side up: ceil(side / denom).
    if (min_side > 0) {
        int64_t shorter = sw < sh ? sw : sh;
        for (int denom = 8; denom >= 2; denom /= 2) {
            if ((shorter + denom - 1) / denom >= min_side) {
                cinfo.scale_num = 1;
                cinfo.scale_denom = (unsigned int)denom;
                break;
            }
        }
    }
    jpeg_start_decompress(&cinfo);
    int64_t w = cinfo.output_width, h = cinfo.output_height;
    out->width = (int)w;
    out->height = (int)h;
    out->scale_denom = (int)(cinfo.scale_denom / (cinfo.scale_num ? cinfo.scale_num : 1));

    size_t stride = (size_t)w * 3;
    pixels = (unsigned char *)malloc(stride * (size_t)h);
    if (cmyk) row4 = (unsigned char *)malloc((size_t)w * 4);
    if (!pixels || (cmyk && !row4)) {
        set_message(out->message, "out of memory");
        longjmp(err.jump, 1);
    }
    // Adobe writes CMYK inverted (stored = 255 - ink); without the Adobe marker assume plain ink.
    int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        JDIMENSION y = cinfo.output_scanline;
        if (cmyk) {
            JSAMPROW row = row4;
            jpeg_read_scanlines(&cinfo, &row, 1);
            unsigned char *dst = pixels + (size_t)y * stride;
            for (int64_t x = 0; x < w; x++) {
                int k = row4[4 * x + 3];
                if (!inverted) k = 255 - k;
                for (int c = 0; c < 3; c++) {
                    int v = row4[4 * x + c];
                    if (!inverted) v = 255 - v;
                    dst[3 * x + c] = (unsigned char)((v * k + 127) / 255);
                }
            }
        } else {
            JSAMPROW row = pixels + (size_t)y * stride;
            jpeg_read_scanlines(&cinfo, &row, 1);
        }
    }
    // No jpeg_finish_decompress: every pixel is in, and a missing EOI after the last scan is
    // harmless (Pillow accepts it too). Destroy releases everything.
    jpeg_destroy_decompress(&cinfo);
    free(row4);
    out->channels = 3;
    out->pixels = pixels;
    return NADA_OK;
}

int nada_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                     uint8_t **out, size_t *out_size, char *message) {
    struct jpeg_compress_struct cinfo;
    struct nada_jpeg_error err;
    unsigned char *volatile buffer = NULL;
    unsigned long buffer_size = 0;
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0 || (channels != 1 && channels != 3 && channels != 4)) {
        set_message(message, "invalid image size or channel count for JPEG");
        return NADA_ERR_UNSUPPORTED;
    }
    nada_jpeg_init_error(&err, message);
    cinfo.err = &err.pub;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return NADA_ERR_CORRUPT;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&buffer, &buffer_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : (channels == 3 ? JCS_RGB : JCS_CMYK);
    jpeg_set_defaults(&cinfo);
    if (quality < 1) quality = 1;
    if (quality > 100) quality = 100;
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    // libjpeg-turbo's memory destination allocates with malloc, so the buffer is ours to pass on.
    *out = buffer;
    *out_size = buffer_size;
    return NADA_OK;
}

// ---------------------------------------------------------------------------------------------
// PNG

struct nada_png_context {
    const uint8_t *data;
    size_t size;
    size_t offset;
    int truncated;
    char *message;
    // write side
    uint8_t *buffer;
    size_t length;
    size_t capacity;
};

static void nada_png_error(png_structp png, png_const_charp text) {
    struct nada_png_context *ctx = (struct nada_png_context *)png_get_error_ptr(png);
    if (!ctx->truncated) set_message(ctx->message, text);
    png_longjmp(png, 1);
}

static void nada_png_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void nada_png_read(png_structp png, png_bytep dst, png_size_t length) {
    struct nada_png_context *ctx = (struct nada_png_context *)png_get_io_ptr(png);
    if (length > ctx->size - ctx->offset) {
        ctx->truncated = 1;
        set_message(ctx->message, "PNG data ends early (file truncated)");
        png_error(png, "truncated");
    }
    memcpy(dst, ctx->data + ctx->offset, length);
    ctx->offset += length;
}

int nada_png_header(const uint8_t *data, size_t size, int *width, int *height, char *message) {
    // IHDR is fixed: signature(8) length(4) "IHDR"(4) width(4) height(4) ...
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        set_message(message, "not a PNG signature");
        return NADA_ERR_CORRUPT;
    }
    if (size < 24) {
        set_message(message, "PNG data ends inside the header (file truncated)");
        return NADA_ERR_TRUNCATED;
    }
    if (memcmp(data + 12, "IHDR", 4) != 0) {
        set_message(message, "PNG does not start with an IHDR chunk");
        return NADA_ERR_CORRUPT;
    }
    uint32_t w = ((uint32_t)data[16] << 24) | ((uint32_t)data[17] << 16) | ((uint32_t)data[18] << 8) | data[19];
    uint32_t h = ((uint32_t)data[20] << 24) | ((uint32_t)data[21] << 16) | ((uint32_t)data[22] << 8) | data[23];
    if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu) {
        set_message(message, "PNG header has an invalid dimension");
        return NADA_ERR_CORRUPT;
    }
    *width = (int)w;
    *height = (int)h;
    return NADA_OK;
}

int nada_png_decode(const uint8_t *data, size_t size, int64_t max_pixels, nada_decoded *out) {
    struct nada_png_context ctx;
    memset(&ctx, 0, sizeof(ctx));
    memset(out, 0, sizeof(*out));
    ctx.data = data;
    ctx.size = size;
    ctx.message = out->message;
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        set_message(out->message, "not a PNG signature");
        return NADA_ERR_CORRUPT;
    }
    // Decompression bombs: the size is checked from the raw IHDR before libpng reads anything.
    int header_w = 0, header_h = 0;
    int header_status = nada_png_header(data, size, &header_w, &header_h, out->message);
    if (header_status != NADA_OK) return header_status;
    out->width = header_w;
    out->height = header_h;
    if (max_pixels > 0 && (int64_t)header_w * (int64_t)header_h > max_pixels) {
        snprintf(out->message, NADA_MESSAGE_LEN, "%dx%d = %lld pixels exceeds the limit of %lld", header_w, header_h,
                 (long long)header_w * (long long)header_h, (long long)max_pixels);
        return NADA_ERR_TOO_LARGE;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, nada_png_error, nada_png_warning);
    if (!png) {
        set_message(out->message, "out of memory");
        return NADA_ERR_NOMEM;
    }
    png_infop info = png_create_info_struct(png);
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile indices = NULL;
    png_bytep *volatile rows = NULL;
    volatile int status = NADA_OK;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(indices);
        free(rows);
        out->pixels = NULL;
        if (status != NADA_OK) return status;
        return ctx.truncated ? NADA_ERR_TRUNCATED : NADA_ERR_CORRUPT;
    }
    if (!info) {
        status = NADA_ERR_NOMEM;
        set_message(out->message, "out of memory");
        png_longjmp(png, 1);
    }
    png_set_read_fn(png, &ctx, nada_png_read);
    // Ancillary chunks with bad CRCs are dropped with a warning rather than failing the image.
    png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_WARN_DISCARD);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &w, &h, &depth, &color_type, &interlace, NULL, NULL);
    out->width = (int)w;
    out->height = (int)h;
    out->bit_depth = depth;
    if (max_pixels > 0 && (int64_t)w * (int64_t)h > max_pixels) {
        status = NADA_ERR_TOO_LARGE;
        snprintf(out->message, NADA_MESSAGE_LEN, "%lux%lu = %lld pixels exceeds the limit of %lld",
                 (unsigned long)w, (unsigned long)h, (long long)w * (long long)h, (long long)max_pixels);
        png_longjmp(png, 1);
    }

    int palette = color_type == PNG_COLOR_TYPE_PALETTE;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: out->source_kind = 1; break;
    case PNG_COLOR_TYPE_PALETTE: out->source_kind = 2; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: out->source_kind = 3; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: out->source_kind = 4; break;
    default: out->source_kind = 0; break;
    }
    if (depth == 16) {
        out->source_kind = 6;
        png_set_strip_16(png);  // keeps the high byte, as Pillow does for 16-bit RGB(A)
    }
    // Single-colour transparency (tRNS) is ignored, as Pillow's convert('RGB') ignores it: only
    // real alpha channels become alpha. Palettes are looked up here (libpng's palette expansion
    // would turn tRNS into alpha).
    if (palette) {
        png_set_packing(png);
    } else {
        if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = palette ? 1 : (int)png_get_channels(png, info);
    if (channels != 1 && channels != 3 && channels != 4) {
        status = NADA_ERR_UNSUPPORTED;
        set_message(out->message, "unsupported PNG channel layout");
        png_longjmp(png, 1);
    }
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * (size_t)channels) {
        status = NADA_ERR_UNSUPPORTED;
        set_message(out->message, "unexpected PNG row layout");
        png_longjmp(png, 1);
    }
    unsigned char *target = (unsigned char *)malloc(rowbytes * (size_t)h);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)h);
    if (palette) indices = target; else pixels = target;
    if (!target || !rows) {
        status = NADA_ERR_NOMEM;
        set_message(out->message, "out of memory");
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = target + (size_t)y * rowbytes;
    png_read_image(png, rows);

    if (palette) {
        png_colorp colors = NULL;
        int count = 0;
        if (png_get_PLTE(png, info, &colors, &count) != PNG_INFO_PLTE) count = 0;
        pixels = (unsigned char *)malloc((size_t)w * (size_t)h * 3);
        if (!pixels) {
            status = NADA_ERR_NOMEM;
            set_message(out->message, "out of memory");
            png_longjmp(png, 1);
        }
        size_t n = (size_t)w * (size_t)h;
        for (size_t i = 0; i < n; i++) {
            int index = indices[i];
            if (index < count) {
                pixels[3 * i] = colors[index].red;
                pixels[3 * i + 1] = colors[index].green;
                pixels[3 * i + 2] = colors[index].blue;
            } else {
                pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = 0;
            }
        }
        free(indices);
        indices = NULL;
        channels = 3;
    }
    // No png_read_end: text chunks after IDAT do not affect pixels, and a missing IEND is harmless.
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->channels = channels;
    out->pixels = pixels;
    return NADA_OK;
}

static void nada_png_write(png_structp png, png_bytep src, png_size_t length) {
    struct nada_png_context *ctx = (struct nada_png_context *)png_get_io_ptr(png);
    if (ctx->length + length > ctx->capacity) {
        size_t capacity = ctx->capacity ? ctx->capacity : 65536;
        while (capacity < ctx->length + length) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(ctx->buffer, capacity);
        if (!grown) png_error(png, "out of memory");
        ctx->buffer = grown;
        ctx->capacity = capacity;
    }
    memcpy(ctx->buffer + ctx->length, src, length);
    ctx->length += length;
}

static void nada_png_flush(png_structp png) { (void)png; }

int nada_png_encode(const uint8_t *pixels, int width, int height, int channels,
                    uint8_t **out, size_t *out_size, char *message) {
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4) {
        set_message(message, "invalid image size or channel count for PNG");
        return NADA_ERR_UNSUPPORTED;
    }
    struct nada_png_context ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.message = message;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, nada_png_error, nada_png_warning);
    if (!png) {
        set_message(message, "out of memory");
        return NADA_ERR_NOMEM;
    }
    png_infop info = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        free(ctx.buffer);
        return NADA_ERR_CORRUPT;
    }
    if (!info) png_error(png, "out of memory");
    png_set_write_fn(png, &ctx, nada_png_write, nada_png_flush);
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) png_error(png, "out of memory");
    size_t stride = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)(pixels + (size_t)y * stride);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *out = ctx.buffer;
    *out_size = ctx.length;
    return NADA_OK;
}
