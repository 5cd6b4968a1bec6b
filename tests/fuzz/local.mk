# libFuzzer harnesses: built with clang by tests/fuzz/run.sh, not here (the
# autotools build is gcc's); shipped in the tarball.
EXTRA_DIST += tests/fuzz
