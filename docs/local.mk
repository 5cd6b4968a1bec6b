dist_man_MANS += docs/xenstored.8
EXTRA_DIST += docs/design
