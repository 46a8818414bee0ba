#!/usr/bin/env python3
"""No mutable global state in libbrine but what is listed here: check_globals.py LIBBRINE.so

A compiled policy is shared by threads and a scanner is per thread, so the
library keeps its state in those objects. The writable data of the shared
library (.data, .bss, .tdata, .tbss; relocated constants in .data.rel.ro are
read-only after loading) is listed with readelf and every object symbol in it
must be one of these, each initialised once and then read, or guarded:
"""
import re
import subprocess
import sys

ALLOWED = [
    # toolchain (crt) symbols
    (r'completed\.\d+|__dso_handle|__TMC_END__', 'the C runtime'),
    (r'__odr_asan\..+', "AddressSanitizer's one-definition-rule indicators (the sanitizer build)"),
    # analyzer/scan/scanner.c: the SIGBUS guard of mapped files
    (r'bus_once|bus_previous', 'SIGBUS handler, installed once (pthread_once); the previous handler it chains to'),
    (r'bus_current', 'thread-local: the guard of the scan running on this thread'),
    # analyzer/container/lazylib.c: libraries opened on first need
    (r'lib(archive|z|bz2|lzma|yaml)_(once|table|ok|err)',
     'a library opened with dlopen on first need: written once under its pthread_once, then only read'),
    (r'mg_once|mg_handle|mg_buffer', "the process's one libmagic handle, loaded once (pthread_once)"),
    (r'mg_lock', 'the lock every use of the libmagic handle holds'),
    (r'test_sonames', 'sonames a test substitutes before the first load (brine_lazy_test_soname)'),
]


def main():
    lib = sys.argv[1]
    sections = {}
    for line in subprocess.run(['readelf', '-SW', lib], capture_output=True, text=True, check=True).stdout.splitlines():
        m = re.match(r'\s*\[\s*(\d+)\]\s+(\S+)', line)
        if m:
            sections[m.group(1)] = m.group(2)
    writable = {'.data', '.bss', '.tdata', '.tbss'}
    found, bad = [], []
    syms = subprocess.run(['readelf', '-sW', lib], capture_output=True, text=True, check=True).stdout
    for line in syms.splitlines():
        f = line.split()
        if len(f) < 8 or f[3] not in ('OBJECT', 'TLS'):
            continue
        sec = sections.get(f[6])
        if sec not in writable:
            continue
        name = f[7].split('@')[0]
        if (name, sec) in found:
            continue
        found.append((name, sec))
        why = next((w for pat, w in ALLOWED if re.fullmatch(pat, name)), None)
        if why is None:
            bad.append((name, sec))
    for name, sec in bad:
        print('FAIL: %s (%s) is mutable global state not listed in test/unit/check_globals.py' % (name, sec))
    print('%d writable symbols in %s, all listed' % (len(found), lib) if not bad else
          '%d writable symbols, %d not listed' % (len(found), len(bad)))
    print('globals: %d passed, %d failed' % (len(found) - len(bad), len(bad)))
    sys.exit(1 if bad or not found else 0)


if __name__ == '__main__':
    main()
