import NadaEditCLI
#if canImport(Glibc)
import Glibc
#endif

// Past a file-size limit (ulimit -f) the kernel would kill us with SIGXFSZ mid-write, leaving temporaries;
// ignored, the write fails with EFBIG, which every writer reports (naming the file) and cleans up after.
signal(SIGXFSZ, SIG_IGN)

NadaEdit.main()
