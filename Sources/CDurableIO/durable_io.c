// renameat2 is not visible through Swift's Glibc module (it needs _GNU_SOURCE), hence this shim.
#define _GNU_SOURCE
#include "durable_io.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>
#endif

int nada_rename_noreplace(const char *from, const char *to) {
#if defined(__linux__) && defined(SYS_renameat2)
    // The raw syscall rather than glibc's wrapper, so older C libraries without renameat2 work too.
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#else
    (void)from; (void)to;
    errno = ENOSYS;
    return -1;
#endif
}

int nada_is_open_for_writing(const char *path) {
#if defined(__linux__) && defined(F_SETLEASE)
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    int answer;
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
        fcntl(fd, F_SETLEASE, F_UNLCK);
        answer = 0;
    } else {
        answer = (errno == EAGAIN) ? 1 : -1;
    }
    close(fd);
    return answer;
#else
    (void)path;
    return -1;
#endif
}
