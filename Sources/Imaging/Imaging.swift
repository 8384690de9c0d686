// Imaging library: see README.md for what lives here.
