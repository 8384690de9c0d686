#ifndef NADA_VIDEO_ENCODER_H
#define NADA_VIDEO_ENCODER_H

#include <stddef.h>
#include <stdint.h>

// H.264 (libx264) in MP4, yuv420p, through FFmpeg's libraries (Debian libavcodec-dev, libavformat-dev,
// libswscale-dev). Every function reports failure with a message in `err` instead of logging or exiting.
typedef struct nv_video nv_video;

// Creates `path` (which must not be in use by anyone else) for a width x height video (both even) at `fps`
// frames per second; `crf` is x264's constant rate factor (0 lossless luma ... 51; 18 looks lossless).
// `comment` and `description` (may be NULL) go into the MP4's metadata (provenance). Returns NULL on failure.
nv_video *nv_video_open(const char *path, int width, int height, int fps, int crf, const char *comment,
                        const char *description, char *err, size_t errlen);

// Appends one frame of packed RGB24 pixels (width * height * 3 bytes, rows top to bottom). 0 on success.
int nv_video_write_rgb(nv_video *video, const uint8_t *rgb, char *err, size_t errlen);

// Flushes the encoder, writes the MP4 index and closes the file; frees `video` either way. 0 on success.
int nv_video_finish(nv_video *video, char *err, size_t errlen);

// Closes and frees without finishing (the file is left incomplete; the caller removes it).
void nv_video_abort(nv_video *video);

#endif
