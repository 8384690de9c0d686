#ifndef NADA_DURABLE_IO_H
#define NADA_DURABLE_IO_H

/// rename(from, to) that fails with EEXIST instead of replacing an existing `to` (Linux renameat2 with
/// RENAME_NOREPLACE). Returns 0 or -1 with errno set; errno EINVAL/ENOSYS means the filesystem or kernel cannot
/// do it and the caller must fall back (link + unlink).
int nada_rename_noreplace(const char *from, const char *to);

/// Whether some process has `path` open for writing right now: 1 yes, 0 no, -1 cannot tell (leases unsupported
/// by the filesystem, or not permitted: a read lease needs the file's owner or CAP_LEASE). Uses a read lease,
/// which the kernel refuses while any writer holds the file open.
int nada_is_open_for_writing(const char *path);

#endif
