#include "image_codecs.h"
int nada_image_codecs_version(void) { return 1; }
