"""python3 -m brine FILE...: one line per file, `FILE: VERDICT (STATUS)`, as `brine scan --quiet`.
Exit status as brine scan: 0 all safe, 1 something unsafe, 2 an I/O error, 3 incomplete."""
import sys

import brine


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python3 -m brine FILE...   (registry batches: python3 -m brine.registry scan --help)")
        return 2 if not argv else 0
    unsafe = incomplete = ioerr = False
    for path in argv:
        try:
            r = brine.scan(path)
        except OSError as e:
            print("brine: %s: %s" % (path, e.strerror or e), file=sys.stderr)
            ioerr = True
            continue
        for s in r.streams:
            if not s.safe:
                print("  stream %s [%s]: %s (%s)" % (s.location, s.format, s.verdict, s.status))
        print("%s: %s (%s)" % (r.name, r.verdict, r.status))
        unsafe |= r.verdict != "safe"
        incomplete |= r.status != "complete"
    return 1 if unsafe else 2 if ioerr else 3 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
