#!/usr/bin/env python3
"""bench/kvm/footprint.py PID...: the resident memory of a set of processes,
each physical page counted once (the union of the pages they map, from
/proc/PID/pagemap; needs root), in KiB.  Unlike a sum of RSS it does not count
a page shared inside the set twice, and unlike PSS it does not move when a
process outside the set (QEMU) maps the same library pages.  Swapped-out
pages count once per process and address."""
import array
import os
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
PRESENT = 1 << 63
SWAPPED = 1 << 62
PFN_MASK = (1 << 55) - 1


def pages(pid, seen):
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pm:
        for line in maps:
            fields = line.split()
            if fields[-1] == "[vsyscall]":
                continue
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            pm.seek(lo // PAGE * 8)
            entries = array.array("Q")
            entries.frombytes(pm.read((hi - lo) // PAGE * 8))
            for i, e in enumerate(entries):
                if e & PRESENT:
                    pfn = e & PFN_MASK
                    if pfn == 0:
                        raise PermissionError("pagemap hides page frame numbers (run as root)")
                    seen.add(pfn)
                elif e & SWAPPED:
                    seen.add(("swap", pid, lo + i * PAGE))


def main():
    seen = set()
    for pid in sys.argv[1:]:
        try:
            pages(int(pid), seen)
        except FileNotFoundError:
            print(f"footprint: process {pid} is gone", file=sys.stderr)
            return 1
        except PermissionError as e:
            print(f"footprint: process {pid}: {e}", file=sys.stderr)
            return 1
    print(len(seen) * PAGE // 1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
