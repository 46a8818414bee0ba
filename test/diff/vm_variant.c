/* The VM under another unpickler's rules, for the variant differential test
 * (run_variants.py): `vm_variant MODE FILE...` prints one `dump --json` line per
 * file, MODE one of ascii (pickle.loads), utf8 (encoding='utf-8', as torch.load),
 * latin1 (encoding='latin-1' with the pure-Python unpickler, as pandas' retry)
 * and python (pickle._Unpickler, as joblib). Links the library's internals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static int to_stdout(void *user, const char *text, size_t len)
{
    (void)user;
    return fwrite(text, 1, len, stdout) != len;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    unsigned flags = BRINE_VM_FIRST_ONLY;
    if (!strcmp(argv[1], "utf8"))
        flags |= BRINE_VM_STR_UTF8;
    else if (!strcmp(argv[1], "latin1"))
        flags |= BRINE_VM_STR_LATIN1 | BRINE_VM_PYTHON;
    else if (!strcmp(argv[1], "python"))
        flags |= BRINE_VM_PYTHON;
    else if (strcmp(argv[1], "ascii"))
        return 2;
    brine_settings s;
    brine_settings_default(&s);
    for (int i = 2; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            return 2;
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        brine_arena a;
        brine_arena_init(&a, s.max_bytes);
        brine_vm_config cfg = {.settings = &s, .arena = &a, .flags = flags};
        brine_vm_result res;
        brine_vm_run(buf, n, &cfg, &res);
        brine_dump_result(&res, n, &s, NULL, to_stdout, NULL);
        brine_arena_free(&a);
    }
    return 0;
}
