# Sourced by the benchmarks that compile a C driver against the build: what to link, the
# three libraries by role (docs/architecture.md, "Libraries by role") as the in-tree tests
# link them, and the system libraries beneath them. Usage: bench_link BUILD_DIR
bench_link() {
    local b=$1 lib
    for lib in gtee_enclave_lib gtee_host_lib gtee_core; do
        [ -f "$b/lib$lib.a" ] || { echo "bench: no $b/lib$lib.a (run make first)" >&2; return 2; }
        printf '%s ' "$b/lib$lib.a"
    done
    pkg-config --libs libssl libcrypto jansson libsecp256k1 libseccomp libprotobuf-c openblas zlib \
        xmlsec1-openssl libxml-2.0
    echo "-ldl -lm -lpthread"
}
