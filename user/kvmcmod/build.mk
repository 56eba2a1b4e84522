# kvmcmod: HTTP through libmicrohttpd.
kvmcmod_LIBS := -lmicrohttpd -lyaml -lcrypt -lpthread -lm

# Debian's libmicrohttpd is built against gnutls, and gnutls needs p11-kit,
# which Debian ships without a static library: a fully static kvmcmod
# cannot be linked from Debian packages.  In a STATIC=1 build kvmcmod is
# therefore a dynamic executable (glibc, libmicrohttpd and the gnutls chain
# as shared libraries) with the kvmcmo libraries (libbpf, libelf, zlib,
# zstd, jansson) linked in statically; the VM tests ship the loader and
# those .so files beside it (tests/vm/kvmcmod/payload.sh).
ifneq ($(STATIC),)
kvmcmod_comma := ,
$(OUTPUT)/kvmcmod: LDFLAGS := $(filter-out -static,$(LDFLAGS)) \
	$(if $(SYSROOT),-Wl$(kvmcmod_comma)-rpath-link$(kvmcmod_comma)$(SYSROOT)/usr/lib/aarch64-linux-gnu)
$(OUTPUT)/kvmcmod: LIBS := -Wl,-Bstatic $(LIBS) -Wl,-Bdynamic
endif

# the unit tests of kvmcmod's pure parts include its header
$(OUTPUT)/tests/unit/test_prom%: CFLAGS += -Iuser/kvmcmod
