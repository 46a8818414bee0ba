/* Reading input files for the CLI: mmap regular files, read pipes. */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int brine_input_open(const char *path, brine_input *in, uint64_t max_stream)
{
    memset(in, 0, sizeof *in);
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        if (fd != STDIN_FILENO)
            close(fd);
        return e;
    }
    if (S_ISFIFO(st.st_mode)) { /* opened without blocking; reads block (a FIFO without a writer reads as empty) */
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return EISDIR;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            /* brine touches the headers and pickles of a file, not its tensor
             * data: no read-ahead around what it touches */
            madvise(p, (size_t)st.st_size, MADV_RANDOM);
            in->data = p;
            in->len = (size_t)st.st_size;
            in->mapped = true;
            if (fd != STDIN_FILENO)
                close(fd);
            return 0;
        }
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            if (fd != STDIN_FILENO)
                close(fd);
            return ENOMEM;
        }
        if (len == cap) {
            if (cap >= max_stream) { /* a pipe or device longer than the cap */
                free(buf);
                if (fd != STDIN_FILENO)
                    close(fd);
                return EFBIG;
            }
            uint8_t *n = realloc(buf, cap * 2);
            if (!n) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = n;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            if (fd != STDIN_FILENO)
                close(fd);
            return e;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    in->data = buf;
    in->len = len;
    return 0;
}

void brine_input_close(brine_input *in)
{
    if (in->mapped)
        munmap((void *)in->data, in->len);
    else
        free((void *)in->data);
    memset(in, 0, sizeof *in);
}
