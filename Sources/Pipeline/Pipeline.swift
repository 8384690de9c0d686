// Pipeline library: see README.md for what lives here.
