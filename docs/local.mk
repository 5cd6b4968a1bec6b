dist_man_MANS += docs/xenstored.8 docs/xl.cfg.5 docs/xl.1
EXTRA_DIST += docs/design
