dist_man_MANS += docs/xenstored.8 docs/xl.cfg.5 docs/xl.1 docs/consoled.8 \
	docs/enso-blkback.8 docs/enso-netback.8
EXTRA_DIST += docs/design
