// librsvg (Debian librsvg2-dev) with cairo: SVG -> pixels for the loss plot and sample labels.
#include <librsvg/rsvg.h>
#include <cairo.h>
