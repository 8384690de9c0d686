#ifndef NADA_IMAGE_CODECS_H
#define NADA_IMAGE_CODECS_H
// C shim over libjpeg and libpng (filled in by the Imaging work).
int nada_image_codecs_version(void);
#endif
