dist_man_MANS += docs/xenstored.8 docs/xl.cfg.5
EXTRA_DIST += docs/design
