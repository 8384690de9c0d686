// See include/video_encoder.h. FFmpeg 5.x send/receive API.
#include "video_encoder.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>

struct nv_video {
    AVFormatContext *format;
    AVCodecContext *encoder;
    AVStream *stream;
    struct SwsContext *scaler;
    AVFrame *frame;
    AVPacket *packet;
    int64_t next_pts;
    int width, height;
};

static void report(char *err, size_t errlen, const char *what, int code) {
    if (!err || errlen == 0) return;
    if (code < 0) {
        char text[AV_ERROR_MAX_STRING_SIZE] = {0};
        av_strerror(code, text, sizeof text);
        snprintf(err, errlen, "%s: %s", what, text);
    } else {
        snprintf(err, errlen, "%s", what);
    }
}

static void release(nv_video *v) {
    if (!v) return;
    if (v->format) {
        if (v->format->pb) avio_closep(&v->format->pb);
        avformat_free_context(v->format);
    }
    avcodec_free_context(&v->encoder);
    sws_freeContext(v->scaler);
    av_frame_free(&v->frame);
    av_packet_free(&v->packet);
    free(v);
}

// Moves every packet the encoder has ready into the file.
static int drain(nv_video *v, char *err, size_t errlen) {
    for (;;) {
        int ret = avcodec_receive_packet(v->encoder, v->packet);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return 0;
        if (ret < 0) { report(err, errlen, "H.264 encoding failed", ret); return ret; }
        av_packet_rescale_ts(v->packet, v->encoder->time_base, v->stream->time_base);
        v->packet->stream_index = v->stream->index;
        ret = av_interleaved_write_frame(v->format, v->packet);   // takes the packet's reference
        if (ret < 0) { report(err, errlen, "writing the video failed", ret); return ret; }
    }
}

nv_video *nv_video_open(const char *path, int width, int height, int fps, int crf, const char *comment,
                        const char *description, char *err, size_t errlen) {
    // libx264 prints its settings at the default level; errors still come back through `err`.
    av_log_set_level(AV_LOG_ERROR);
    if (width <= 0 || height <= 0 || (width & 1) || (height & 1)) {
        report(err, errlen, "width and height must be positive and even for yuv420p", 0);
        return NULL;
    }
    if (fps <= 0 || fps > 240) { report(err, errlen, "frames per second must be in 1...240", 0); return NULL; }
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) { report(err, errlen, "this FFmpeg has no libx264 H.264 encoder", 0); return NULL; }

    nv_video *v = calloc(1, sizeof *v);
    if (!v) { report(err, errlen, "out of memory", 0); return NULL; }
    v->width = width; v->height = height;
    int ret = avformat_alloc_output_context2(&v->format, NULL, "mp4", path);
    if (ret < 0 || !v->format) { report(err, errlen, "cannot set up the MP4 muxer", ret); release(v); return NULL; }
    v->stream = avformat_new_stream(v->format, NULL);
    v->encoder = avcodec_alloc_context3(codec);
    v->frame = av_frame_alloc();
    v->packet = av_packet_alloc();
    if (!v->stream || !v->encoder || !v->frame || !v->packet) { report(err, errlen, "out of memory", 0); release(v); return NULL; }

    AVCodecContext *e = v->encoder;
    e->width = width;
    e->height = height;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->time_base = (AVRational){1, fps};
    e->framerate = (AVRational){fps, 1};
    e->gop_size = fps;                       // a key frame every second, for seeking
    // swscale converts with BT.601 coefficients into limited range; say so in the stream.
    e->colorspace = AVCOL_SPC_SMPTE170M;
    e->color_primaries = AVCOL_PRI_SMPTE170M;
    e->color_trc = AVCOL_TRC_SMPTE170M;
    e->color_range = AVCOL_RANGE_MPEG;
    if (v->format->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    char crf_text[16];
    snprintf(crf_text, sizeof crf_text, "%d", crf);
    av_opt_set(e->priv_data, "crf", crf_text, 0);
    av_opt_set(e->priv_data, "preset", "medium", 0);
    if ((ret = avcodec_open2(e, codec, NULL)) < 0) { report(err, errlen, "cannot open the H.264 encoder", ret); release(v); return NULL; }
    if ((ret = avcodec_parameters_from_context(v->stream->codecpar, e)) < 0) { report(err, errlen, "cannot set the stream parameters", ret); release(v); return NULL; }
    v->stream->time_base = e->time_base;
    v->stream->avg_frame_rate = e->framerate;
    if ((ret = avio_open(&v->format->pb, path, AVIO_FLAG_WRITE)) < 0) { report(err, errlen, "cannot create the file", ret); release(v); return NULL; }
    // Provenance: the mov muxer writes these as the udta ©cmt and ©des atoms (ffprobe: format tags).
    if (comment) av_dict_set(&v->format->metadata, "comment", comment, 0);
    if (description) av_dict_set(&v->format->metadata, "description", description, 0);
    if ((ret = avformat_write_header(v->format, NULL)) < 0) { report(err, errlen, "cannot write the MP4 header", ret); release(v); return NULL; }

    v->frame->format = AV_PIX_FMT_YUV420P;
    v->frame->width = width;
    v->frame->height = height;
    if ((ret = av_frame_get_buffer(v->frame, 0)) < 0) { report(err, errlen, "out of memory", ret); release(v); return NULL; }
    v->scaler = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height, AV_PIX_FMT_YUV420P,
                               SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!v->scaler) { report(err, errlen, "cannot set up the RGB to YUV conversion", 0); release(v); return NULL; }
    return v;
}

int nv_video_write_rgb(nv_video *v, const uint8_t *rgb, char *err, size_t errlen) {
    int ret = av_frame_make_writable(v->frame);
    if (ret < 0) { report(err, errlen, "out of memory", ret); return ret; }
    const uint8_t *source[4] = {rgb, NULL, NULL, NULL};
    const int stride[4] = {3 * v->width, 0, 0, 0};
    sws_scale(v->scaler, source, stride, 0, v->height, v->frame->data, v->frame->linesize);
    v->frame->pts = v->next_pts++;
    if ((ret = avcodec_send_frame(v->encoder, v->frame)) < 0) { report(err, errlen, "H.264 encoding failed", ret); return ret; }
    return drain(v, err, errlen);
}

int nv_video_finish(nv_video *v, char *err, size_t errlen) {
    int ret = avcodec_send_frame(v->encoder, NULL);
    if (ret < 0) report(err, errlen, "H.264 encoding failed", ret);
    if (ret >= 0) ret = drain(v, err, errlen);
    if (ret >= 0) {
        ret = av_write_trailer(v->format);
        if (ret < 0) report(err, errlen, "writing the MP4 index failed", ret);
    }
    if (ret >= 0) {
        ret = avio_closep(&v->format->pb);
        if (ret < 0) report(err, errlen, "closing the video file failed", ret);
    }
    release(v);
    return ret < 0 ? ret : 0;
}

void nv_video_abort(nv_video *v) { release(v); }
