# tests/kvm: the KVM suite's scripts (it runs xl itself).
EXTRA_DIST += tests/kvm/run.sh tests/kvm/common.sh tests/kvm/lifecycle.sh \
	tests/kvm/net.sh tests/kvm/police.sh tests/kvm/save.sh
